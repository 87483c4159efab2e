package connector_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// waitingUsers schedules, for users u0…u(n-1), a follow-up "f" an hour
// after their trigger (1 ms apart, so due in that order) that a purchase
// during the wait cancels, and moves the clock to when all are due.
func waitingUsers(t *testing.T, e *connector.Engine, clk *clock.Mock, n int) {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, e.Save(ctx, rule.Campaign{ID: "o"}))
	require.NoError(t, e.Save(ctx, rule.Campaign{ID: "f", Triggers: []rule.Trigger{{Kind: event.PushOpened, CampaignID: "o"}},
		Delay: rule.After(time.Hour), Exceptions: []rule.Exception{{Kind: event.Purchase}}}))
	require.NoError(t, e.Publish(ctx, "f"))
	require.NoError(t, e.Publish(ctx, "o"))
	for i := range n {
		require.NoError(t, e.Track(ctx, event.Event{UserID: fmt.Sprint("u", i), Kind: event.PushOpened, CampaignID: "o"}))
		clk.Add(time.Millisecond)
	}
	clk.Add(time.Hour)
}

// TestExceptionDuringEarlierSendsStopsLaterDelivery checks that the last
// check against exceptions happens right before each send: a purchase
// (made during the wait, reported late) that arrives while the deliveries
// due before the buyer's are being sent cancels the buyer's delivery.
func TestExceptionDuringEarlierSendsStopsLaterDelivery(t *testing.T) {
	clk := clock.NewMock()
	t0 := clk.Now()
	bought := map[string]bool{"u2": true, "u5": true, "u8": true, "u11": true}
	var e *connector.Engine
	var sent []string
	send := connector.SenderFunc(func(_ context.Context, d connector.Delivery) error {
		sent = append(sent, d.UserID)
		var i int
		_, err := fmt.Sscanf(d.UserID, "u%d", &i)
		require.NoError(t, err)
		// While this send is in progress, the next user in due order
		// turns out to have bought during the wait.
		if next := fmt.Sprint("u", i+1); bought[next] {
			require.NoError(t, e.Track(context.Background(),
				event.Event{UserID: next, Kind: event.Purchase, Time: t0.Add(30 * time.Minute)}))
		}
		return nil
	})
	var err error
	e, err = connector.New(store.NewMemory(), send, connector.WithClock(clk), connector.WithSendConcurrency(1))
	require.NoError(t, err)
	waitingUsers(t, e, clk, 12)
	n, err := e.Tick(context.Background())
	require.NoError(t, err)
	for _, u := range sent {
		require.False(t, bought[u], "%s bought while earlier sends were in progress and still got the follow-up (sent: %v)", u, sent)
	}
	require.Equal(t, 8, n, "everyone else gets it: %v", sent)
}

// TestStopDuringSlowSends checks that once Stop of a follow-up returns, the
// sender is not called for it again: only the sends in progress when Stop
// was called complete.
func TestStopDuringSlowSends(t *testing.T) {
	for _, conc := range []int{1, 4} {
		t.Run(fmt.Sprintf("send concurrency %d", conc), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				clk := clock.NewMock()
				release := make(chan struct{})
				var calls atomic.Int64
				send := connector.SenderFunc(func(context.Context, connector.Delivery) error {
					calls.Add(1)
					<-release
					return nil
				})
				e, err := connector.New(store.NewMemory(), send, connector.WithClock(clk), connector.WithSendConcurrency(conc))
				require.NoError(t, err)
				waitingUsers(t, e, clk, 40)
				done := make(chan struct{})
				go func() {
					defer close(done)
					if _, err := e.Tick(context.Background()); err != nil {
						t.Error(err)
					}
				}()
				for range 4 { // some sends complete, the provider being slow
					synctest.Wait()
					release <- struct{}{}
				}
				synctest.Wait()
				require.NoError(t, e.Stop(context.Background(), "f"))
				called := calls.Load()
				close(release)
				<-done
				require.Equal(t, called, calls.Load(), "the sender was called after Stop returned")
				require.LessOrEqual(t, called, int64(4+conc), "4 sends, and those in progress at Stop")
				st, err := e.Stats(context.Background())
				require.NoError(t, err)
				require.Zero(t, st.Pending)
			})
		})
	}
}

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
// in a synctest bubble: "settle" is synctest.Wait.
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

// TestEnginesNeverShareASlowSend checks that, with three engines on one
// store ticking while sends slow down from instant to 20 s each (under the
// default lease of 1 minute), no delivery is sent twice: the last check
// happens right before each send and renews the lease, and a delivery that
// waited in one engine's claim past its lease is sent by the engine that
// claimed it next, and skipped by the first.
func TestEnginesNeverShareASlowSend(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := clock.NewMock()
		mem := store.NewMemory()
		send := &slowSender{clk: clk, fast: 40, latency: 20 * time.Second}
		var engines []*connector.Engine
		for range 3 {
			e, err := connector.New(mem, send, connector.WithClock(clk), connector.WithSendConcurrency(2),
				connector.WithSendTimeout(30*time.Second))
			require.NoError(t, err)
			engines = append(engines, e)
		}
		const users = 70
		waitingUsers(t, engines[0], clk, users)
		tickAll(t, clk, engines, time.Second, time.Hour, func() bool {
			st, err := engines[0].Stats(context.Background())
			require.NoError(t, err)
			return st.Pending == 0
		})
		for id, n := range send.counts() {
			require.Equal(t, 1, n, "delivery %s sent %d times", id, n)
		}
		st, err := engines[0].Stats(context.Background())
		require.NoError(t, err)
		require.Zero(t, st.Pending)
	})
}

// TestSendLongerThanLeaseKeepsItsDelivery checks that a send lasting three
// leases (no send timeout) keeps its delivery from the other engine: the
// engine sending it renews its lease while the send lasts.
func TestSendLongerThanLeaseKeepsItsDelivery(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := clock.NewMock()
		mem := store.NewMemory()
		send := &slowSender{clk: clk, latency: 3 * time.Minute}
		var engines []*connector.Engine
		for range 2 {
			e, err := connector.New(mem, send, connector.WithClock(clk), connector.WithLease(time.Minute))
			require.NoError(t, err)
			engines = append(engines, e)
		}
		waitingUsers(t, engines[0], clk, 3)
		tickAll(t, clk, engines, time.Second, time.Hour, func() bool {
			for _, n := range send.counts() {
				if n > 1 {
					return true // failed: the checks below say which
				}
			}
			st, err := engines[0].Stats(context.Background())
			require.NoError(t, err)
			return st.Pending == 0
		})
		counts := send.counts()
		require.Len(t, counts, 3)
		for id, n := range counts {
			require.Equal(t, 1, n, "delivery %s sent %d times", id, n)
		}
	})
}
