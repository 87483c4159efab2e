package connector_test

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/store"
)

// claimPanics is a memory store whose next claim, once armed, panics: a
// driver with a bug.
type claimPanics struct {
	*store.Memory
	armed atomic.Bool
}

func (s *claimPanics) Claim(ctx context.Context, ns string, now time.Time, lease time.Duration, limit int, token uint64) ([]store.Claim, error) {
	if s.armed.CompareAndSwap(true, false) {
		panic("the store's driver panicked")
	}
	return s.Memory.Claim(ctx, ns, now, lease, limit, token)
}

// TestATickWhoseClaimPanicsUnwinds: the store panics in a Tick's claim.
// The panic unwinds the Tick, for the host to recover, as a panic of the
// store's updates does, rather than end the process with a fatal error
// (the feed's lock unlocked twice); the next Tick sends what is due.
func TestATickWhoseClaimPanicsUnwinds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &claimPanics{Memory: store.NewMemory()}
		l := &sendLog{}
		e, err := connector.New(s, l, connector.WithSendConcurrency(1),
			connector.WithLogger(slog.New(slog.DiscardHandler)))
		require.NoError(t, err)
		dueFor(t, e, "u1")
		s.armed.Store(true)
		func() {
			defer func() { require.Equal(t, "the store's driver panicked", recover()) }()
			_, _ = e.Tick(context.Background())
			t.Error("the Tick returned")
		}()
		synctest.Wait()
		n, err := e.Tick(context.Background())
		require.NoError(t, err)
		require.Equal(t, 2, n)
		require.Len(t, l.sends(), 2)
	})
}

// TestARunWhoseClaimPanicsUnwinds: under Run, the store's panic in a
// claim is repeated on Run's goroutine, for the host to recover.
func TestARunWhoseClaimPanicsUnwinds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &claimPanics{Memory: store.NewMemory()}
		e, err := connector.New(s, &sendLog{}, connector.WithSendConcurrency(2),
			connector.WithLogger(slog.New(slog.DiscardHandler)))
		require.NoError(t, err)
		s.armed.Store(true)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		recovered := make(chan any, 1)
		go func() {
			defer func() { recovered <- recover() }()
			_ = e.Run(ctx)
		}()
		require.Equal(t, "the store's driver panicked", <-recovered)
		cancel()
		synctest.Wait()
	})
}
