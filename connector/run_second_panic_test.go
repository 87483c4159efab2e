package connector

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/stretchr/testify/require"
)

// TestRunLogsALaterTicksPanic: a Tick of Run's panics (an observer's)
// while another sends; Run waits for that one before it repeats the
// panic, and that one panics too as its send is recorded: Run repeats the
// first, and logs the second at Error rather than drop it without a word.
func TestRunLogsALaterTicksPanic(t *testing.T) {
	recovered, log := runUntilObserverPanics(t, "slow", "bad")
	require.Equal(t, "bad", recovered)
	require.Contains(t, log, "a panic after another's, which Run repeats: slow")
}

// TestRunLogsLaterTicksPanicsInOneLine: as above, with two Ticks that
// panic after the one Run repeats: Run logs them in one line that counts
// them, not a line each.
func TestRunLogsLaterTicksPanicsInOneLine(t *testing.T) {
	recovered, log := runUntilObserverPanics(t, "slow1", "slow2", "bad")
	require.Equal(t, "bad", recovered)
	require.Equal(t, 1, strings.Count(log, "level=ERROR"), "%s", log)
	require.Contains(t, log, "2 panics after another's, which Run repeats; the first: slow")
}

// runUntilObserverPanics runs an engine, four send slots, whose observer
// panics with the user of each delivery, and tracks a trigger for each
// of users in turn, each due at once: the sends of all but the last user
// wait until the last's has panicked. It returns the panic Run repeats
// and what the engine logged.
func runUntilObserverPanics(t *testing.T, users ...string) (recovered any, logged string) {
	last := users[len(users)-1]
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		send := func(_ context.Context, d Delivery) error {
			if d.UserID != last {
				<-release
			}
			return nil
		}
		var mu sync.Mutex
		var log bytes.Buffer
		h := newRunHarness(t, send, WithSendConcurrency(4))
		e, err := New(h.store, SenderFunc(send), WithClock(h.engine.cfg.clock), WithSendConcurrency(4),
			WithLogger(slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
				mu.Lock()
				defer mu.Unlock()
				return log.Write(p)
			}), nil))),
			WithObserver(ObserverFunc(func(d rule.Decision) {
				if d.Kind == rule.Delivered {
					panic(d.UserID)
				}
			})))
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		ran := make(chan any, 1)
		go func() {
			defer func() { ran <- recover() }()
			_ = e.Run(ctx)
		}()
		synctest.Wait()
		for _, u := range users {
			require.NoError(t, e.Track(context.Background(), event.Event{UserID: u, Kind: event.EmailOpened, CampaignID: "o"}))
			synctest.Wait()
		}
		close(release)
		recovered = <-ran
		mu.Lock()
		defer mu.Unlock()
		logged = log.String()
	})
	return recovered, logged
}

// writerFunc is an io.Writer.
type writerFunc func(p []byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
