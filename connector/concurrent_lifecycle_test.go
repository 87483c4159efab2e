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

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/connectortest"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// flakySender accepts a delivery at its second attempt when the delivery's
// hash says so, yields the processor for a while during some sends (a
// slow sender), and counts what it accepted.
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

// TestEnginesUnderLifecycleRaces runs two engines on one memory store,
// each ticking in a loop, while goroutines track triggers (each reported
// to both engines at once), exceptions, and stop, resume and edit the
// follow-ups, and the clock moves. Once everything due has been ticked,
// every delivery was accepted at most once, has exactly one outcome
// observed, delivered exactly when the sender accepted it, and nothing is
// left pending. Seeds 1-8: each about 60 ticks, 100 deliveries scheduled,
// 50 sender calls.
func TestEnginesUnderLifecycleRaces(t *testing.T) {
	accepted := 0
	for _, seed := range []uint64{1, 2, 3, 4, 5, 6, 7, 8} {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { accepted += testEnginesUnderLifecycleRaces(t, seed) })
	}
	require.NotZero(t, accepted, "some seed sent something")
}

// testEnginesUnderLifecycleRaces runs the races of one seed and returns
// how many deliveries the sender accepted: stops can cancel all of a
// seed's.
func testEnginesUnderLifecycleRaces(t *testing.T, seed uint64) int {
	ctx := context.Background()
	clk := clock.NewMock()
	clk.Set(connectortest.Start)
	mem := store.NewMemory()
	send := &flakySender{accepted: map[string]int{}, byEvent: map[string]int{}}
	var mu sync.Mutex
	outcome := map[string][]rule.DecisionKind{} // by delivery ID
	scheduled := map[string]bool{}
	observe := connector.ObserverFunc(func(d rule.Decision) {
		if d.DeliveryID == "" {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		switch d.Kind {
		case rule.Scheduled:
			scheduled[d.DeliveryID] = true
		case rule.Delivered, rule.Cancelled, rule.Suppressed, rule.Failed, rule.HeldOut:
			outcome[d.DeliveryID] = append(outcome[d.DeliveryID], d.Kind)
		}
	})
	// The lease is longer than the clock's largest step (2 minutes), taken
	// while sends are in flight: on a mock clock the keeper cannot renew a
	// lease the clock jumps past, which in real time it does.
	var engines [2]*connector.Engine
	for i := range engines {
		engines[i] = newEngine(t, mem, send, clk, connector.WithObserver(observe), connector.WithSendConcurrency(3),
			connector.WithBatchSize(4), connector.WithLease(time.Hour), connector.WithFrequencyCaps(connector.FrequencyCap{Max: 5, Window: time.Hour}))
	}
	camps := func(delay time.Duration, rate int) []rule.Campaign {
		return []rule.Campaign{
			{ID: "o"},
			{ID: "f1", Triggers: []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "o"}}, Delay: rule.After(delay),
				Exceptions: []rule.Exception{{Kind: event.EmailOpened, CampaignID: "o"}}},
			{ID: "f2", Triggers: []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "o"}}, Delay: rule.After(2 * delay),
				RateLimit: rate, Reeligibility: rule.ReeligibleAfter(time.Minute)},
		}
	}
	require.NoError(t, engines[0].Apply(ctx, camps(time.Minute, 0)))

	r := rand.New(rand.NewPCG(seed, seed))
	const users, events = 40, 150
	var wg sync.WaitGroup
	done := make(chan struct{})
	var tracking sync.WaitGroup
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
	// Trackers: each trigger goes to both engines at once, with one ID.
	for g := range 2 {
		r := rand.New(rand.NewPCG(seed, uint64(g)+10))
		tracking.Go(func() {
			for i := range events {
				u := fmt.Sprint("u", r.IntN(users))
				kind := event.EmailReceived
				if r.IntN(4) == 0 {
					kind = event.EmailOpened
				}
				ev := event.Event{ID: fmt.Sprintf("e%d-%d", g, i), UserID: u, Kind: kind, CampaignID: "o", Time: clk.Now()}
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
	// Lifecycle: as the trackers go, the clock moves and the follow-ups
	// are stopped, resumed, archived, or edited (their delay and rate
	// limit); at the end they are resumed, but for one archived.
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
				if err := e.Apply(ctx, camps(time.Duration(1+r.IntN(5))*time.Minute, r.IntN(3)), connector.KeepStopped()); err != nil {
					t.Error(err)
				}
			}
		}
		if err := engines[0].Apply(ctx, camps(time.Minute, 1)); err != nil {
			t.Error(err)
		}
	})
	// Tickers, until the trackers and the lifecycle are done.
	var ticks atomic.Int64
	for i, e := range engines {
		wg.Go(func() {
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
	wg.Wait()
	// Whatever is left falls due, retries included; a rate limit lets one
	// delivery of a follow-up go a minute.
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

	mu.Lock()
	defer mu.Unlock()
	send.mu.Lock()
	defer send.mu.Unlock()
	for key, n := range send.byEvent {
		require.Equal(t, 1, n, "%s accepted %d times", key, n)
	}
	for id := range scheduled {
		want := rule.DecisionKind("")
		if send.accepted[id] == 1 {
			want = rule.Delivered
		}
		got := outcome[id]
		require.Len(t, got, 1, "delivery %s: outcomes %v, accepted %d", id, got, send.accepted[id])
		if want != "" {
			require.Equal(t, want, got[0], "delivery %s", id)
		} else {
			require.NotEqual(t, rule.Delivered, got[0], "delivery %s delivered, never accepted", id)
		}
	}
	for id := range send.accepted {
		require.True(t, scheduled[id], "accepted %s, never scheduled", id)
	}
	t.Logf("seed %d: %d scheduled, %d accepted of %d calls, %d ticks", seed, len(scheduled), len(send.accepted), send.calls, ticks.Load())
	return len(send.accepted)
}
