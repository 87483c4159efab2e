package connector_test

import (
	"context"
	"fmt"
	"sync"
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

// runTick runs e.Tick in a synctest bubble, moving clk by step whenever
// everything else waits, and returns its result.
func runTick(t *testing.T, e *connector.Engine, clk *clock.Mock, step time.Duration) (int, error) {
	t.Helper()
	type result struct {
		n   int
		err error
	}
	done := make(chan result, 1)
	go func() {
		n, err := e.Tick(context.Background())
		done <- result{n, err}
	}()
	for {
		synctest.Wait()
		select {
		case r := <-done:
			return r.n, r.err
		default:
			clk.Add(step)
		}
	}
}

// messageLog is a sender that takes 20 s a send on the mock clock and
// keeps each delivery's user and message; before the first send starts,
// it calls first.
type messageLog struct {
	clk   *clock.Mock
	first func()

	mu   sync.Mutex
	sent []string // "user campaign message"
}

func (s *messageLog) Send(_ context.Context, d connector.Delivery) error {
	s.mu.Lock()
	first := len(s.sent) == 0
	s.sent = append(s.sent, d.UserID+" "+d.CampaignID+" "+string(d.Message))
	s.mu.Unlock()
	if first && s.first != nil {
		s.first()
	}
	<-s.clk.Timer(20 * time.Second).C
	return nil
}

// TestEditDuringALongTickAppliesToLaterSends checks that a follow-up's
// message edited while a Tick sends slowly is the message of the sends
// that start after the edit, whether the edit goes through the sending
// engine or another one on the same store.
func TestEditDuringALongTickAppliesToLaterSends(t *testing.T) {
	for _, via := range []string{"the sending engine", "another engine"} {
		t.Run(via, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				clk := clock.NewMock()
				mem := store.NewMemory()
				send := &messageLog{clk: clk}
				e, err := connector.New(mem, send, connector.WithClock(clk), connector.WithSendConcurrency(1),
					connector.WithBatchSize(1))
				require.NoError(t, err)
				other, err := connector.New(mem, send, connector.WithClock(clk))
				require.NoError(t, err)
				editor := e
				if via == "another engine" {
					editor = other
				}
				waitingUsers(t, e, clk, 4)
				send.first = func() {
					rec, err := editor.Campaign(context.Background(), "f")
					require.NoError(t, err)
					rec.Campaign.Message = []byte(`"edited"`)
					require.NoError(t, editor.Save(context.Background(), rec.Campaign))
				}
				n, err := runTick(t, e, clk, time.Second)
				require.NoError(t, err)
				require.Equal(t, 4, n)
				require.Equal(t, []string{`u0 f `, `u1 f "edited"`, `u2 f "edited"`, `u3 f "edited"`}, send.sent)
			})
		})
	}
}

// gatedUser is a memory store whose updates of one user wait, while gate
// is set, until it is closed.
type gatedUser struct {
	*store.Memory
	who string

	mu      sync.Mutex
	gate    chan struct{}
	waiting chan struct{} // closed when an update waits at the gate
}

func (s *gatedUser) Update(ctx context.Context, ns, userID string, now time.Time, dedup store.Dedup, fn func(*store.UserState, bool)) error {
	s.mu.Lock()
	gate := s.gate
	if userID != s.who {
		gate = nil
	}
	if gate != nil {
		close(s.waiting)
	}
	s.mu.Unlock()
	if gate != nil {
		<-gate
	}
	return s.Memory.Update(ctx, ns, userID, now, dedup, fn)
}

// TestStopDuringALongTickCancelsWhatATrackScheduledMeanwhile checks that a
// delivery a Track scheduled concurrently with Stop (it read the follow-up
// as active, and stored the delivery after Stop cancelled the others) is
// not sent by a Tick that began before Stop: the last check before each
// send looks at the follow-up as it is, and cancels the delivery.
func TestStopDuringALongTickCancelsWhatATrackScheduledMeanwhile(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := clock.NewMock()
		s := &gatedUser{Memory: store.NewMemory(), who: "late"}
		send := &messageLog{clk: clk}
		var mu sync.Mutex
		var cancelled []string
		e, err := connector.New(s, send, connector.WithClock(clk), connector.WithSendConcurrency(1),
			connector.WithBatchSize(1),
			connector.WithObserver(connector.ObserverFunc(func(d rule.Decision) {
				if d.Kind == rule.Cancelled && d.Reason == rule.ReasonCampaignStopped {
					mu.Lock()
					cancelled = append(cancelled, d.UserID)
					mu.Unlock()
				}
			})))
		require.NoError(t, err)
		ctx := context.Background()
		var users []string
		for i := range 4 {
			users = append(users, fmt.Sprint("u", i))
		}
		dueFor(t, e, users...)
		tracked := make(chan error, 1)
		send.first = func() {
			// While the first send is in progress, a Track reads "now" as
			// active and waits to store its delivery; meanwhile "now" is
			// stopped.
			s.mu.Lock()
			s.gate, s.waiting = make(chan struct{}), make(chan struct{})
			gate, waiting := s.gate, s.waiting
			s.mu.Unlock()
			go func() {
				tracked <- e.Track(ctx, event.Event{UserID: "late", Kind: event.PushOpened, CampaignID: "o"})
			}()
			<-waiting
			require.NoError(t, e.Stop(ctx, "now"))
			s.mu.Lock()
			s.gate = nil
			s.mu.Unlock()
			close(gate)
			require.NoError(t, <-tracked)
		}
		_, err = runTick(t, e, clk, time.Second)
		require.NoError(t, err)
		for _, sent := range send.sent[1:] {
			require.NotContains(t, sent, " now ", "sent after Stop returned: %q", send.sent)
		}
		mu.Lock()
		defer mu.Unlock()
		require.Contains(t, cancelled, "late")
		require.Contains(t, send.sent, "late also ", "the follow-up still active is sent")
	})
}
