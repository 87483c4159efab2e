package connector_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/store"
)

// claimDown is a memory store whose claims fail.
type claimDown struct{ *store.Memory }

func (claimDown) Claim(context.Context, string, time.Time, time.Duration, int, uint64) ([]store.Claim, error) {
	return nil, errors.New("claim: connection refused")
}

// syncBuffer is a bytes.Buffer safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// An engine built without WithLogger still reports the store errors Run
// meets and retries, which reach no caller: to slog.Default, at Error.
// (Not parallel: it sets the process's default logger.)
func TestRunErrorsGoToTheDefaultLoggerWithoutOne(t *testing.T) {
	var buf syncBuffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&buf, nil)))
	t.Cleanup(func() { slog.SetDefault(prev) })

	synctest.Test(t, func(t *testing.T) {
		clk := clock.NewMock()
		e, err := connector.New(claimDown{store.NewMemory()}, connector.SenderFunc(func(context.Context, connector.Delivery) error { return nil }),
			connector.WithClock(clk))
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- e.Run(ctx) }()
		synctest.Wait()
		cancel()
		clk.Add(time.Second) // ends the retry's wait, if Run sleeps on the clock
		synctest.Wait()
		require.NoError(t, <-done)
	})
	out := buf.String()
	require.Contains(t, out, "level=ERROR")
	require.Contains(t, out, "campaignconnector: run")
	require.Contains(t, out, "claim: connection refused")
	require.Equal(t, 1, strings.Count(out, "claim: connection refused"), out)
}
