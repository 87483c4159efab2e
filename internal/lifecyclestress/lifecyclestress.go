// Package lifecyclestress runs two engines under lifecycle races, for the
// tests of each store: the memory store's (in connector), SQLite's and
// PostgreSQL's run the same races and check the same properties.
package lifecyclestress

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
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

// start is the mock clock's time at the start of a run.
var start = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// flakySender accepts a delivery at its second attempt when the
// delivery's hash says so, yields the processor during some sends, and
// counts what it accepted.
type flakySender struct {
	mu       sync.Mutex
	accepted map[string]int // by delivery ID
	byEvent  map[string]int // by user, follow-up and trigger event ID
	calls    int
}

func (s *flakySender) Send(_ context.Context, d connector.Delivery) error {
	h := 0
	for _, c := range d.ID {
		h = h*31 + int(c)
	}
	if h%3 == 0 {
		for range 50 {
			runtime.Gosched()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if h%4 == 0 && d.Attempt == 1 {
		return errors.New("421 try later")
	}
	s.accepted[d.ID]++
	s.byEvent[d.UserID+"/"+d.CampaignID+"/"+d.Trigger.ID]++
	return nil
}

// lifecycleOutcomes collects, per delivery, its scheduling and outcomes.
type lifecycleOutcomes struct {
	mu        sync.Mutex
	outcome   map[string][]rule.DecisionKind // by delivery ID
	scheduled map[string]bool
}

func (o *lifecycleOutcomes) observe(d rule.Decision) {
	if d.DeliveryID == "" {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	switch d.Kind {
	case rule.Scheduled:
		o.scheduled[d.DeliveryID] = true
	case rule.Delivered, rule.Cancelled, rule.Suppressed, rule.Failed, rule.HeldOut:
		o.outcome[d.DeliveryID] = append(o.outcome[d.DeliveryID], d.Kind)
	}
}

// lifecycleCampaigns are the stress's follow-ups, with delay and rate.
func lifecycleCampaigns(delay time.Duration, rate int) []rule.Campaign {
	return []rule.Campaign{
		{ID: "o"},
		{ID: "f1", Triggers: []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "o"}}, Delay: rule.After(delay),
			Exceptions: []rule.Exception{{Kind: event.EmailOpened, CampaignID: "o"}}},
		{ID: "f2", Triggers: []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "o"}}, Delay: rule.After(2 * delay),
			RateLimit: rate, Reeligibility: rule.ReeligibleAfter(time.Minute)},
	}
}

// Run runs the races of one seed, with events triggers and exceptions per
// tracking goroutine: two engines, each on a store newStore returns
// (handles on one database, or one memory store), ticking as the clock
// moves, while two goroutines track triggers (each to both engines at once, with one ID)
// and exceptions, and another stops, resumes and edits the follow-ups
// (Apply, with StopOthers too).
// Once everything due has been ticked, every trigger was accepted at most
// once per follow-up, every scheduled delivery has exactly one outcome,
// delivered exactly when the sender accepted it, and nothing is pending.
// It returns how many deliveries the sender accepted: stops can cancel all
// of a seed's, so callers check that their seeds together sent some.
func Run(t *testing.T, seed uint64, events int, newStore func() store.Store) int {
	ctx := context.Background()
	clk := clock.NewMock()
	clk.Set(start)
	send := &flakySender{accepted: map[string]int{}, byEvent: map[string]int{}}
	o := &lifecycleOutcomes{outcome: map[string][]rule.DecisionKind{}, scheduled: map[string]bool{}}
	// The lease outlasts the clock's largest step: on a mock clock the
	// keeper cannot renew a lease the clock jumps past.
	var engines [2]*connector.Engine
	for i := range engines {
		e, err := connector.New(newStore(), send, connector.WithClock(clk),
			connector.WithRetryPolicy(connector.RetryPolicy{MaxAttempts: 4, Base: time.Minute, Max: time.Hour}),
			connector.WithObserver(connector.ObserverFunc(o.observe)), connector.WithSendConcurrency(3),
			connector.WithBatchSize(4), connector.WithLease(time.Hour), connector.WithFrequencyCaps(connector.FrequencyCap{Max: 5, Window: time.Hour}))
		require.NoError(t, err)
		engines[i] = e
	}
	require.NoError(t, engines[0].Apply(ctx, lifecycleCampaigns(time.Minute, 0)))

	r := rand.New(rand.NewPCG(seed, seed))
	const users = 40
	var tracking, ticking sync.WaitGroup
	done := make(chan struct{})
	progress := make(chan struct{}, 2*events) // a tracker's tenth event
	var kicks [2]chan struct{}                // the clock moved: tick
	for i := range kicks {
		kicks[i] = make(chan struct{}, 1)
	}
	kick := func() {
		for _, k := range kicks {
			select {
			case k <- struct{}{}:
			default:
			}
		}
	}
	for g := range 2 {
		r := rand.New(rand.NewPCG(seed, uint64(g)+10))
		tracking.Go(func() {
			for i := range events {
				kind := event.EmailReceived
				if r.IntN(4) == 0 {
					kind = event.EmailOpened
				}
				ev := event.Event{ID: fmt.Sprintf("e%d-%d", g, i), UserID: fmt.Sprint("u", r.IntN(users)), Kind: kind, CampaignID: "o", Time: clk.Now()}
				var both sync.WaitGroup
				for _, e := range engines {
					both.Go(func() {
						if err := e.Track(ctx, ev); err != nil {
							t.Error(err)
						}
					})
				}
				both.Wait()
				if i%10 == 9 {
					progress <- struct{}{}
				}
			}
		})
	}
	tracking.Go(func() {
		for range 2 * events / 10 {
			<-progress
			clk.Add(time.Duration(r.IntN(120)) * time.Second)
			kick()
			e := engines[r.IntN(2)]
			id := []string{"f1", "f2"}[r.IntN(2)]
			switch r.IntN(5) {
			case 0, 1:
				_ = e.Stop(ctx, id) // may be stopped already
			case 2:
				_ = e.Publish(ctx, id) // may be active already
			case 3:
				if err := e.Apply(ctx, lifecycleCampaigns(time.Duration(1+r.IntN(5))*time.Minute, r.IntN(3)), connector.KeepStopped()); err != nil {
					t.Error(err)
				}
			case 4: // a set without id stops it
				set := slices.DeleteFunc(lifecycleCampaigns(time.Minute, 0), func(c rule.Campaign) bool { return c.ID == id })
				if err := e.Apply(ctx, set, connector.StopOthers(), connector.KeepStopped()); err != nil {
					t.Error(err)
				}
			}
		}
		if err := engines[0].Apply(ctx, lifecycleCampaigns(time.Minute, 1)); err != nil {
			t.Error(err)
		}
	})
	var ticks atomic.Int64
	for i, e := range engines {
		ticking.Go(func() {
			for {
				select {
				case <-done:
					return
				case <-kicks[i]:
				}
				for {
					n, err := e.Tick(ctx)
					if err != nil {
						t.Error(err)
						return
					}
					ticks.Add(1)
					if n == 0 {
						break
					}
				}
			}
		})
	}
	tracking.Wait()
	close(done)
	ticking.Wait()
	// Whatever is left falls due, retries included; a rate limit lets
	// one delivery of f2 go a minute.
	var st store.Stats
	for round := range 10 + 4*users {
		step := 2 * time.Hour
		if round >= 10 {
			step = time.Minute
		}
		clk.Add(step)
		for _, e := range engines {
			for {
				n, err := e.Tick(ctx)
				require.NoError(t, err)
				if n == 0 {
					break
				}
			}
		}
		var err error
		st, err = engines[0].Stats(ctx)
		require.NoError(t, err)
		if round >= 10 && st.Pending == 0 {
			break
		}
	}
	require.Zero(t, st.Pending, "nothing stays pending")

	o.mu.Lock()
	defer o.mu.Unlock()
	send.mu.Lock()
	defer send.mu.Unlock()
	for key, n := range send.byEvent {
		require.Equal(t, 1, n, "%s accepted %d times", key, n)
	}
	for id := range o.scheduled {
		got := o.outcome[id]
		require.Len(t, got, 1, "delivery %s: outcomes %v, accepted %d", id, got, send.accepted[id])
		if send.accepted[id] == 1 {
			require.Equal(t, rule.Delivered, got[0], "delivery %s", id)
		} else {
			require.NotEqual(t, rule.Delivered, got[0], "delivery %s delivered, never accepted", id)
		}
	}
	for id := range send.accepted {
		require.True(t, o.scheduled[id], "accepted %s, never scheduled", id)
	}
	t.Logf("seed %d: %d scheduled, %d accepted of %d calls, %d ticks", seed, len(o.scheduled), len(send.accepted), send.calls, ticks.Load())
	return len(send.accepted)
}
