package postgres_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store/postgres"
	"github.com/stretchr/testify/require"
)

// slowSender counts sends by delivery ID; after the first fast ones, each
// send takes latency on the mock clock.
type slowSender struct {
	clk     *clock.Mock
	fast    int
	latency time.Duration

	mu    sync.Mutex
	calls int
	byID  map[string]int
}

func (s *slowSender) Send(_ context.Context, d connector.Delivery) error {
	s.mu.Lock()
	s.calls++
	slow := s.calls > s.fast
	if s.byID == nil {
		s.byID = map[string]int{}
	}
	s.byID[d.ID]++
	s.mu.Unlock()
	if slow {
		<-s.clk.Timer(s.latency).C
	}
	return nil
}

func (s *slowSender) counts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.byID)
}

// tickAll runs a Tick of each engine whenever its last one has returned,
// moving the clock by step once the engines settle, until done reports
// true; then it keeps moving the clock, starting no Tick, until the
// running ones return. It fails if that takes longer than limit. It runs
// in a synctest bubble: "settle" is synctest.Wait, which also waits for
// the store's round trips in progress.
func tickAll(t *testing.T, clk *clock.Mock, engines []*connector.Engine, step, limit time.Duration, done func() bool) {
	t.Helper()
	running := make([]bool, len(engines))
	returned := make(chan int, len(engines))
	collect := func() {
		for {
			select {
			case i := <-returned:
				running[i] = false
			default:
				return
			}
		}
	}
	finished := false
	for moved := time.Duration(0); ; moved += step {
		for i, e := range engines {
			if !running[i] && !finished {
				running[i] = true
				go func() {
					if _, err := e.Tick(context.Background()); err != nil {
						t.Error(err)
					}
					returned <- i
				}()
			}
		}
		synctest.Wait()
		collect()
		finished = finished || done()
		if finished && !slices.Contains(running, true) {
			return
		}
		require.Less(t, moved, limit, "not done after %v", limit)
		clk.Add(step)
		synctest.Wait()
		collect()
	}
}

// Three engines, each on a store of its own (three replicas), ticking
// while sends slow down from instant to 20 s each, under a 30 s send
// timeout and the default lease of 1 minute: no delivery is sent twice.
// The last check happens right before each send and renews the lease; a
// delivery that waited in one engine's claim past its lease is sent by the
// engine that claimed it next, and skipped by the first.
//
// The stores are opened outside the test's synctest bubble, with every
// connection of their pools already made, so that neither their
// background goroutines nor the pools' connection makers are part of it;
// the engines run inside it, on a mock clock the test moves once they
// settle. The pools queue their writes (bubblePool says why, and what
// that leaves).
func TestEnginesNeverShareASlowSendOnPostgres(t *testing.T) {
	schema := testSchema(t)
	var stores []*postgres.Store
	for range 3 {
		pool := bubblePool(t)
		s, err := postgres.New(context.Background(), pool, postgres.WithSchema(schema))
		require.NoError(t, err)
		t.Cleanup(s.Close)
		stores = append(stores, s)
	}
	synctest.Test(t, func(t *testing.T) {
		clk := clock.NewMock()
		clk.Set(t0)
		send := &slowSender{clk: clk, fast: 40, latency: 20 * time.Second}
		var engines []*connector.Engine
		for _, s := range stores {
			e, err := connector.New(s, send, connector.WithClock(clk), connector.WithSendConcurrency(2),
				connector.WithSendTimeout(30*time.Second))
			require.NoError(t, err)
			engines = append(engines, e)
		}
		ctx := context.Background()
		e := engines[0]
		require.NoError(t, e.Save(ctx, rule.Campaign{ID: "o"}))
		require.NoError(t, e.Save(ctx, rule.Campaign{ID: "f", Triggers: []rule.Trigger{{Kind: event.PushOpened, CampaignID: "o"}},
			Delay: rule.After(time.Hour), Exceptions: []rule.Exception{{Kind: event.Purchase}}}))
		require.NoError(t, e.Publish(ctx, "f"))
		require.NoError(t, e.Publish(ctx, "o"))
		const users = 70
		for i := range users {
			require.NoError(t, e.Track(ctx, event.Event{UserID: fmt.Sprint("u", i), Kind: event.PushOpened, CampaignID: "o"}))
			clk.Add(time.Millisecond)
		}
		clk.Add(time.Hour)
		tickAll(t, clk, engines, time.Second, time.Hour, func() bool {
			st, err := e.Stats(ctx)
			require.NoError(t, err)
			return st.Pending == 0
		})
		counts := send.counts()
		require.Len(t, counts, users)
		for id, n := range counts {
			require.Equal(t, 1, n, "delivery %s sent %d times", id, n)
		}
	})
}
