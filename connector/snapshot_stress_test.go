package connector_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// yieldingStore is a memory store whose reads of the campaigns yield
// first, so that rebuilds overlap.
type yieldingStore struct{ *store.Memory }

func (s yieldingStore) Campaigns(ctx context.Context, ns string) (int64, []store.CampaignRecord, error) {
	for range 3 {
		runtime.Gosched()
	}
	return s.Memory.Campaigns(ctx, ns)
}

// randomCtx returns a context that is already cancelled, cancelled after a
// few yields, or never cancelled.
func randomCtx(r *rand.Rand) (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	switch r.IntN(3) {
	case 0:
		cancel()
	case 1:
		n := r.IntN(20)
		go func() {
			for range n {
				runtime.Gosched()
			}
			cancel()
		}()
	}
	return ctx, cancel
}

// TestSnapshotUnderCancelledReadsAndChanges reads the campaigns through
// every entry point with contexts cancelled at random while two engines
// on one store change them: a read fails only with its context's error
// (or an unknown campaign), a publish is seen by the next Track on the
// same engine, and once all is done both engines hold the stored
// campaigns.
func TestSnapshotUnderCancelledReadsAndChanges(t *testing.T) {
	mem := store.NewMemory()
	clk := applyClock()
	var scheduled sync.Map // follow-up ID + user -> true
	obs := connector.ObserverFunc(func(d rule.Decision) {
		if d.Kind == rule.Scheduled {
			scheduled.Store(d.CampaignID+"/"+d.UserID, true)
		}
	})
	e1 := newEngine(t, yieldingStore{mem}, noop, clk, connector.WithObserver(obs))
	e2 := newEngine(t, mem, noop, clk, connector.WithObserver(obs))
	ctx := context.Background()
	require.NoError(t, e1.Apply(ctx, chain(time.Hour)))

	ok := func(err error) bool {
		return err == nil || errors.Is(err, context.Canceled) || errors.Is(err, connector.ErrUnknownCampaign) ||
			errors.Is(err, connector.ErrNoDecisionLog)
	}
	var stop atomic.Bool
	var readers sync.WaitGroup
	var failures sync.Map
	for g := range 6 {
		readers.Add(1)
		go func() {
			defer readers.Done()
			r := rand.New(rand.NewPCG(uint64(g), 1))
			for i := 0; !stop.Load(); i++ {
				e := e1
				if r.IntN(2) == 0 {
					e = e2
				}
				c, cancel := randomCtx(r)
				var err error
				switch r.IntN(7) {
				case 0:
					_, err = e.Campaigns(c)
				case 1:
					_, err = e.Campaign(c, fmt.Sprintf("o%d", r.IntN(4)))
				case 2:
					_, err = e.Check(c)
				case 3:
					_, err = e.Explain(c, "u", "resend")
				case 4:
					err = e.Track(c, event.Event{UserID: fmt.Sprintf("r%d", g), Kind: event.EmailReceived, CampaignID: "news"})
				case 5:
					err = e.TrackAll(c, []event.Event{{UserID: fmt.Sprintf("r%d", g), Kind: event.EmailOpened, CampaignID: "news"}})
				case 6:
					_, err = e.Tick(c)
				}
				cancel()
				if !ok(err) {
					failures.Store(fmt.Sprintf("reader %d: %v", g, err), true)
				}
			}
		}()
	}
	var writers sync.WaitGroup
	for w := range 4 {
		writers.Add(1)
		go func() {
			defer writers.Done()
			e := e1
			if w%2 == 1 {
				e = e2
			}
			o, f := fmt.Sprintf("o%d", w), fmt.Sprintf("f%d", w)
			for i := range 15 {
				if err := e.Save(ctx, rule.Campaign{ID: o, Message: []byte(fmt.Sprintf(`{"v":%d}`, i))}); err != nil {
					failures.Store(fmt.Sprintf("writer %d save: %v", w, err), true)
					return
				}
				if i == 0 {
					if err := e.Publish(ctx, o); err != nil {
						failures.Store(fmt.Sprintf("writer %d publish: %v", w, err), true)
						return
					}
				}
				if err := e.Save(ctx, rule.Campaign{ID: f, Message: []byte(fmt.Sprintf(`{"v":%d}`, i)), Delay: rule.After(time.Hour),
					Triggers: []rule.Trigger{{Kind: event.EmailReceived, CampaignID: o}}}); err != nil {
					failures.Store(fmt.Sprintf("writer %d save: %v", w, err), true)
					return
				}
				if err := e.Publish(ctx, f); err != nil {
					failures.Store(fmt.Sprintf("writer %d publish: %v", w, err), true)
					return
				}
				user := fmt.Sprintf("w%d-%d", w, i)
				if err := e.Track(ctx, event.Event{UserID: user, Kind: event.EmailReceived, CampaignID: o}); err != nil {
					failures.Store(fmt.Sprintf("writer %d track: %v", w, err), true)
					return
				}
				if _, ok := scheduled.Load(f + "/" + user); !ok {
					failures.Store(fmt.Sprintf("writer %d: the track after publishing %s scheduled nothing", w, f), true)
				}
				if err := e.Stop(ctx, f); err != nil {
					failures.Store(fmt.Sprintf("writer %d stop: %v", w, err), true)
					return
				}
				if i%5 == 0 {
					if err := e.Apply(ctx, chain(time.Duration(i+1)*time.Hour)); err != nil {
						failures.Store(fmt.Sprintf("writer %d apply: %v", w, err), true)
					}
				}
			}
		}()
	}
	writers.Wait()
	stop.Store(true)
	readers.Wait()
	failures.Range(func(k, _ any) bool { t.Error(k); return true })

	_, want, err := mem.Campaigns(ctx, "")
	require.NoError(t, err)
	for _, e := range []*connector.Engine{e1, e2} {
		got, err := e.Campaigns(ctx)
		require.NoError(t, err)
		require.Len(t, got, len(want))
		for _, rec := range got {
			stored, err := e.Campaign(ctx, rec.Campaign.ID)
			require.NoError(t, err)
			require.Equal(t, stored.Revision, rec.Revision)
		}
		byID := map[string]int64{}
		for _, rec := range want {
			byID[rec.Campaign.ID] = rec.Revision
		}
		for _, rec := range got {
			require.Equal(t, byID[rec.Campaign.ID], rec.Revision, "campaign %s", rec.Campaign.ID)
		}
	}
}
