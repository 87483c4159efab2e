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
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		send := func(_ context.Context, d Delivery) error {
			if d.UserID == "slow" {
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
		recovered := make(chan any, 1)
		go func() {
			defer func() { recovered <- recover() }()
			_ = e.Run(ctx)
		}()
		synctest.Wait()
		require.NoError(t, e.Track(context.Background(), event.Event{UserID: "slow", Kind: event.EmailOpened, CampaignID: "o"}))
		synctest.Wait()
		require.NoError(t, e.Track(context.Background(), event.Event{UserID: "bad", Kind: event.EmailOpened, CampaignID: "o"}))
		synctest.Wait()
		close(release)
		require.Equal(t, "bad", <-recovered)
		mu.Lock()
		defer mu.Unlock()
		require.Contains(t, log.String(), "a panic after another's, which Run repeats: slow")
	})
}

// TestRunLogsLaterTicksPanicsInOneLine: as above, with two Ticks that
// panic after the one Run repeats: Run logs them in one line that counts
// them, not a line each.
func TestRunLogsLaterTicksPanicsInOneLine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		send := func(_ context.Context, d Delivery) error {
			if d.UserID != "bad" {
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
		recovered := make(chan any, 1)
		go func() {
			defer func() { recovered <- recover() }()
			_ = e.Run(ctx)
		}()
		synctest.Wait()
		for _, u := range []string{"slow1", "slow2", "bad"} {
			require.NoError(t, e.Track(context.Background(), event.Event{UserID: u, Kind: event.EmailOpened, CampaignID: "o"}))
			synctest.Wait()
		}
		close(release)
		require.Equal(t, "bad", <-recovered)
		mu.Lock()
		defer mu.Unlock()
		require.Equal(t, 1, strings.Count(log.String(), "level=ERROR"), "%s", log.String())
		require.Contains(t, log.String(), "2 panics after another's, which Run repeats; the first: slow")
	})
}

// writerFunc is an io.Writer.
type writerFunc func(p []byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
