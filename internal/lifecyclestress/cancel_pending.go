package lifecyclestress

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// failingBatches passes a store's CancelCampaignBatch calls on, but for
// the fail-th, which fails.
type failingBatches struct {
	store.Store
	bc    store.BatchCanceller
	calls atomic.Int32
	fail  atomic.Int32
}

var errBatchDown = errors.New("the store is down (CancelCampaignBatch)")

func (f *failingBatches) CancelCampaignBatch(ctx context.Context, ns, id, cursor string, limit int) ([]store.Claim, string, error) {
	n := f.calls.Add(1)
	if n == f.fail.Load() {
		return nil, "", errBatchDown
	}
	return f.bc.CancelCampaignBatch(ctx, ns, id, cursor, limit)
}

// CancelPending runs two engines, A on sa (whose fail-th
// cancellation batch fails) and B on sb, sharing one store: B's
// CancelPending of the active follow-up cancels nothing; A's stop is cut
// short, B resumes the follow-up and tracks 20 receipts, then both call
// CancelPending at once. The stop's leftovers are cancelled once each,
// the new activation's deliveries stay and are sent, and nothing else is.
func CancelPending(t *testing.T, sa, sb store.Store) {
	t.Helper()
	ctx := context.Background()
	clk := clock.NewMock()
	clk.Set(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	var mu sync.Mutex
	sent := map[string]int{}
	var ds []rule.Decision
	send := connector.SenderFunc(func(_ context.Context, d connector.Delivery) error {
		mu.Lock()
		defer mu.Unlock()
		sent[d.UserID]++
		return nil
	})
	obs := connector.WithObserver(connector.ObserverFunc(func(d rule.Decision) {
		mu.Lock()
		defer mu.Unlock()
		ds = append(ds, d)
	}))
	fa := &failingBatches{Store: sa, bc: sa.(store.BatchCanceller)}
	a, err := connector.New(fa, send, connector.WithClock(clk), obs)
	require.NoError(t, err)
	b, err := connector.New(sb, send, connector.WithClock(clk), obs)
	require.NoError(t, err)
	set := []rule.Campaign{
		{ID: "newsletter"},
		{ID: "resend", Delay: rule.After(time.Hour),
			Triggers: []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "newsletter"}}},
	}
	require.NoError(t, a.Apply(ctx, set))
	track := func(e *connector.Engine, prefix string, n int) {
		var evs []event.Event
		for i := range n {
			u := fmt.Sprintf("%s%05d", prefix, i)
			evs = append(evs, event.Event{ID: "r-" + u, UserID: u, Kind: event.EmailReceived, CampaignID: "newsletter", Time: clk.Now()})
		}
		require.NoError(t, e.TrackAll(ctx, evs))
	}
	const old = 2500
	track(a, "old", old)
	// Active, never stopped: nothing.
	require.NoError(t, b.CancelPending(ctx, "resend"))
	n, err := b.CampaignPendingCount(ctx, "resend", 100_000)
	require.NoError(t, err)
	require.EqualValues(t, old, n)

	fa.fail.Store(2)
	require.ErrorIs(t, a.Stop(ctx, "resend"), connector.ErrNotCancelled)
	require.NoError(t, b.Publish(ctx, "resend"))
	track(b, "new", 20)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	wg.Go(func() { errs[0] = a.CancelPending(ctx, "resend") })
	wg.Go(func() { errs[1] = b.CancelPending(ctx, "resend") })
	wg.Wait()
	require.NoError(t, errs[0])
	require.NoError(t, errs[1])
	n, err = b.CampaignPendingCount(ctx, "resend", 100_000)
	require.NoError(t, err)
	require.EqualValues(t, 20, n)
	clk.Add(2 * time.Hour)
	for _, e := range []*connector.Engine{a, b} {
		for {
			n, err := e.Tick(ctx)
			require.NoError(t, err)
			if n == 0 {
				break
			}
		}
	}
	mu.Lock()
	defer mu.Unlock()
	decided := map[string]int{}
	for _, d := range ds {
		if d.CampaignID == "resend" && (d.Kind == rule.Delivered || d.Kind == rule.Cancelled) {
			decided[d.UserID]++
			if d.Kind == rule.Cancelled {
				require.Equal(t, "old", d.UserID[:3])
			} else {
				require.Equal(t, "new", d.UserID[:3])
			}
		}
	}
	require.Len(t, decided, old+20)
	for u, k := range decided {
		require.Equal(t, 1, k, u)
	}
	require.Len(t, sent, 20)
}
