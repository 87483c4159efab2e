package connector_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// A failed send's record stored by a call whose answer was lost, and
// retried after another Tick of the same engine claimed the delivery's
// retry and sent it, leaves that send alone: applied again, it cleared
// the new send's lease, and another engine sent the delivery once more
// while the first still sent it. The retry finds its record stored, and
// the observers hear of it once.
func TestARecordRetriedAfterANewerAttemptLeavesItsLease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		s := &lostReplies{Memory: store.NewMemory()}
		release := make(chan struct{})
		var mu sync.Mutex
		var sends []connector.Delivery
		sender := connector.SenderFunc(func(_ context.Context, d connector.Delivery) error {
			mu.Lock()
			sends = append(sends, d)
			mu.Unlock()
			if d.Attempt == 1 {
				s.lose.Store(1) // the record of this failure loses its answer
				return errors.New("503 try later")
			}
			<-release
			return nil
		})
		retry := connector.WithRetryPolicy(connector.RetryPolicy{MaxAttempts: 5, Base: time.Millisecond, Max: time.Millisecond})
		quiet := connector.WithLogger(slog.New(slog.DiscardHandler))
		var retried atomic.Int32
		observe := connector.WithObserver(connector.ObserverFunc(func(d rule.Decision) {
			if d.Kind == rule.Retried {
				retried.Add(1)
			}
		}))
		a, err := connector.New(s, sender, connector.WithSendConcurrency(1), retry, quiet, observe)
		require.NoError(t, err)
		b, err := connector.New(s, sender, connector.WithSendConcurrency(1), retry, quiet)
		require.NoError(t, err)
		for _, c := range []rule.Campaign{{ID: "o"}, {ID: "now", Triggers: []rule.Trigger{{Kind: event.PushOpened, CampaignID: "o"}}}} {
			require.NoError(t, a.Save(ctx, c))
			require.NoError(t, a.Publish(ctx, c.ID))
		}
		require.NoError(t, a.Track(ctx, event.Event{UserID: "u1", Kind: event.PushOpened, CampaignID: "o"}))

		first := make(chan struct{})
		go func() { // its record's retry waits 10 ms
			defer close(first)
			_, _ = a.Tick(ctx)
		}()
		time.Sleep(5 * time.Millisecond) // past the send's retry, 1 ms after its failure
		second := make(chan struct{})
		go func() { // claims the retry and sends attempt 2, which waits
			defer close(second)
			_, _ = a.Tick(ctx)
		}()
		time.Sleep(200 * time.Millisecond) // the first Tick's record retry has run
		synctest.Wait()
		other := make(chan struct{})
		go func() { // must find the delivery leased to the send of attempt 2
			defer close(other)
			_, _ = b.Tick(ctx)
		}()
		synctest.Wait()
		mu.Lock()
		byID := map[string][]int{}
		for _, d := range sends {
			byID[d.ID] = append(byID[d.ID], d.Attempt)
		}
		mu.Unlock()
		close(release)
		<-first
		<-second
		<-other
		// The failure's record, stored by the call whose answer was lost,
		// is observed once, by its retry (no decision log tells it).
		require.Equal(t, int32(1), retried.Load(), "retries observed")
		require.Len(t, byID, 1)
		for id, attempts := range byID {
			require.Equal(t, []int{1, 2}, attempts, "delivery %s", id)
		}
	})
}
