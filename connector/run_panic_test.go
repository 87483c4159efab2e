package connector

import (
	"context"
	"runtime"
	"testing"
	"testing/synctest"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/stretchr/testify/require"
)

// A panic in a Tick that Run started (an observer's), or the end of its
// goroutine (runtime.Goexit in the sender), is repeated on Run's
// goroutine, also while another Tick sends beside it (once that send has
// ended); after the host recovers and ctx ends, no goroutine is left at
// work.
func TestRunRepeatsATicksPanicOnItsGoroutine(t *testing.T) {
	for _, mode := range []string{"observer panic", "sender goexit", "observer panic with a slow send beside"} {
		t.Run(mode, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				release := make(chan struct{})
				send := func(_ context.Context, d Delivery) error {
					if d.UserID == "bad" && mode == "sender goexit" {
						runtime.Goexit()
					}
					if d.UserID == "slow" {
						<-release
					}
					return nil
				}
				h := newRunHarness(t, send, WithSendConcurrency(4))
				e, err := New(h.store, SenderFunc(send), WithClock(h.engine.cfg.clock), WithSendConcurrency(4),
					WithObserver(ObserverFunc(func(d rule.Decision) {
						if d.UserID == "bad" && d.Kind == rule.Delivered && mode != "sender goexit" {
							panic("observer")
						}
					})))
				require.NoError(t, err)
				ctx, cancel := context.WithCancel(context.Background())
				res := runRecovering(e, ctx)
				synctest.Wait()
				if mode == "observer panic with a slow send beside" {
					require.NoError(t, e.Track(context.Background(), event.Event{UserID: "slow", Kind: event.EmailOpened, CampaignID: "o"}))
					synctest.Wait()
				}
				require.NoError(t, e.Track(context.Background(), event.Event{UserID: "bad", Kind: event.EmailOpened, CampaignID: "o"}))
				synctest.Wait()
				if mode == "observer panic with a slow send beside" {
					// The panic comes out once the slow send has ended.
					select {
					case <-res:
						t.Fatal("Run unwound while a send was in progress")
					default:
					}
					close(release)
				}
				var r runEnd
				select {
				case r = <-res:
				case <-time.After(time.Hour):
					t.Fatal("Run went on")
				}
				require.False(t, r.returned, "Run returned")
				if mode == "sender goexit" {
					require.Nil(t, r.recovered, "Run's goroutine did not end as the Tick's did")
				} else {
					require.Equal(t, "observer", r.recovered)
				}
				cancel()
				if mode != "observer panic with a slow send beside" {
					close(release)
				}
				synctest.Wait()
			})
		})
	}
}

// runEnd is how Run, started by runRecovering, ended: it returned, or
// unwound with recovered.
type runEnd struct {
	returned  bool
	recovered any
}

// runRecovering runs e's Run with ctx on a goroutine of its own, which
// recovers a panic that unwinds it, and returns where its end comes.
func runRecovering(e *Engine, ctx context.Context) <-chan runEnd {
	res := make(chan runEnd, 1)
	go func() {
		r := runEnd{}
		defer func() {
			r.recovered = recover()
			res <- r
		}()
		_ = e.Run(ctx)
		r.returned = true
	}()
	return res
}
