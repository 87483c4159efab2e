package connector_test

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// panickyGiveBack is a memory store whose batches panic once armed.
type panickyGiveBack struct {
	*store.Memory
	armed atomic.Bool
}

func (s *panickyGiveBack) UpdateBatch(ctx context.Context, ns string, ops []store.Op) error {
	if s.armed.Load() {
		panic("give-back")
	}
	return s.Memory.UpdateBatch(ctx, ns, ops)
}

// TestAPanicGivingBackAsATickUnwindsIsLogged: a Tick with one slot
// unwinds with its observer's panic and gives back the claims the slot
// had not reached; the store panics in that call: the Tick repeats the
// observer's panic and logs the store's at Error, as it does another
// goroutine's, rather than drop it without a word.
func TestAPanicGivingBackAsATickUnwindsIsLogged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &panickyGiveBack{Memory: store.NewMemory()}
		var log syncBuffer
		e, err := connector.New(s, &sendLog{}, connector.WithSendConcurrency(1),
			connector.WithLogger(slog.New(slog.NewTextHandler(&log, nil))),
			connector.WithObserver(connector.ObserverFunc(func(d rule.Decision) {
				if d.Kind == rule.Delivered && !s.armed.Swap(true) {
					panic("observer")
				}
			})))
		require.NoError(t, err)
		dueFor(t, e, "u1", "u2", "u3") // six deliveries, one claim
		recovered := tickPanic(e, context.Background())
		require.Equal(t, "observer", <-recovered)
		synctest.Wait()
		require.Contains(t, log.String(), "a panic after another's, which the Tick repeats: give-back")
	})
}

// TestAnEarlierPanicIsLoggedWhenTheTicksSlotUnwinds: the Tick's context
// ends while its one slot sends, and the store panics as the claims not
// handed out go back (on a goroutine of the Tick's); then the slot
// unwinds the Tick's own goroutine (its observer's panic): the Tick
// repeats that one and logs the store's at Error, rather than drop it.
func TestAnEarlierPanicIsLoggedWhenTheTicksSlotUnwinds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &panickyGiveBack{Memory: store.NewMemory()}
		sending, release := make(chan struct{}), make(chan struct{})
		send := connector.SenderFunc(func(context.Context, connector.Delivery) error {
			close(sending)
			<-release
			return nil
		})
		var log syncBuffer
		var told atomic.Bool
		e, err := connector.New(s, send, connector.WithSendConcurrency(1),
			connector.WithLogger(slog.New(slog.NewTextHandler(&log, nil))),
			connector.WithObserver(connector.ObserverFunc(func(d rule.Decision) {
				if d.Kind == rule.Delivered && !told.Swap(true) {
					panic("observer")
				}
			})))
		require.NoError(t, err)
		dueFor(t, e, "u1", "u2", "u3") // six deliveries, one claim
		ctx, cancel := context.WithCancel(context.Background())
		recovered := tickPanic(e, ctx)
		<-sending
		s.armed.Store(true)
		cancel() // the give-back panics
		synctest.Wait()
		s.armed.Store(false)
		close(release)
		require.Equal(t, "observer", <-recovered)
		synctest.Wait()
		require.Contains(t, log.String(), "a panic after another's, which the Tick repeats: give-back")
	})
}

// TestAPanicGivingBackAfterASlotsIsLogged: one of a Tick's two slots
// panics (its observer's), which stops the other; the store panics as the
// Tick gives back the claims they had not reached: the Tick repeats the
// observer's panic, the first, and logs the store's at Error.
func TestAPanicGivingBackAfterASlotsIsLogged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &panickyGiveBack{Memory: store.NewMemory()}
		var log syncBuffer
		e, err := connector.New(s, &sendLog{}, connector.WithSendConcurrency(2),
			connector.WithLogger(slog.New(slog.NewTextHandler(&log, nil))),
			connector.WithObserver(connector.ObserverFunc(func(d rule.Decision) {
				if d.Kind == rule.Delivered && !s.armed.Swap(true) {
					panic("observer")
				}
			})))
		require.NoError(t, err)
		dueFor(t, e, "u1", "u2", "u3", "u4", "u5", "u6") // twelve deliveries, one claim
		recovered := tickPanic(e, context.Background())
		require.Equal(t, "observer", <-recovered)
		synctest.Wait()
		// The other slot's record may panic too, before the give-back.
		require.Regexp(t, "after another's, which the Tick repeats[:;] (the first: )?give-back", log.String())
	})
}
