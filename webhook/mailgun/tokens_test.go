package mailgun

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestTokenCache(t *testing.T) {
	t0 := time.Date(2026, time.January, 5, 9, 0, 0, 0, time.UTC)
	window := 5 * time.Minute
	tests := []struct {
		name string
		run  func(t *testing.T, c *tokenCache)
	}{
		{"a token is used once", func(t *testing.T, c *tokenCache) {
			require.True(t, c.use("a", t0, t0.Add(window)))
			require.False(t, c.use("a", t0.Add(time.Minute), t0.Add(window)))
			require.True(t, c.use("b", t0, t0.Add(window)))
		}},
		{"expired tokens are forgotten", func(t *testing.T, c *tokenCache) {
			require.True(t, c.use("a", t0, t0.Add(window)))
			require.True(t, c.use("b", t0.Add(window), t0.Add(2*window)))
			require.Equal(t, 1, c.size(), "a expired when b came")
			require.True(t, c.use("a", t0.Add(window), t0.Add(2*window)))
		}},
		{"the cache stays bounded, oldest evicted first", func(t *testing.T, c *tokenCache) {
			for i := range 10 {
				require.True(t, c.use(fmt.Sprint(i), t0, t0.Add(window)))
				require.LessOrEqual(t, c.size(), 4)
			}
			require.Equal(t, 4, c.size())
			require.False(t, c.use("9", t0, t0.Add(window)), "recent tokens are kept")
			require.True(t, c.use("0", t0, t0.Add(window)), "the oldest were evicted")
		}},
		{"reuse after expiry keeps the queue consistent", func(t *testing.T, c *tokenCache) {
			for i := range 100 {
				at := t0.Add(time.Duration(i) * time.Minute)
				require.True(t, c.use(fmt.Sprint(i%3), at, at.Add(30*time.Second)))
			}
			require.LessOrEqual(t, c.size(), 3)
			require.Len(t, c.queue[c.head:], c.size())
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, newTokenCache(4)) })
	}
}
