package connector

import (
	"context"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/stretchr/testify/require"
)

// A Tick's panic that Run reads as its context ends (the end of the Tick
// and of ctx in either order, or at once) is repeated, once the Tick
// sending beside it has ended, and Run leaves nothing behind.
func TestRunRepeatsATicksPanicReadAsItsContextEnds(t *testing.T) {
	for _, slow := range []bool{false, true} {
		for _, order := range []string{"cancel first", "panic first", "panic settled first"} {
			t.Run(fmt.Sprint(map[bool]string{false: "alone", true: "beside a send"}[slow], ", ", order), func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					releaseSlow, releaseBad := make(chan struct{}), make(chan struct{})
					send := func(_ context.Context, d Delivery) error {
						switch d.UserID {
						case "slow":
							<-releaseSlow
						case "bad":
							<-releaseBad
						}
						return nil
					}
					h := newRunHarness(t, send, WithSendConcurrency(4))
					e, err := New(h.store, SenderFunc(send), WithClock(h.engine.cfg.clock), WithSendConcurrency(4),
						WithObserver(ObserverFunc(func(d rule.Decision) {
							if d.UserID == "bad" && d.Kind == rule.Delivered {
								panic("bad")
							}
						})))
					require.NoError(t, err)
					ctx, cancel := context.WithCancel(context.Background())
					res := runRecovering(e, ctx)
					synctest.Wait()
					if slow {
						require.NoError(t, e.Track(context.Background(), event.Event{UserID: "slow", Kind: event.EmailOpened, CampaignID: "o"}))
						synctest.Wait()
					}
					require.NoError(t, e.Track(context.Background(), event.Event{UserID: "bad", Kind: event.EmailOpened, CampaignID: "o"}))
					synctest.Wait()
					switch order {
					case "cancel first":
						cancel()
						close(releaseBad)
					case "panic first":
						close(releaseBad)
						cancel()
					case "panic settled first":
						close(releaseBad)
						synctest.Wait()
						cancel()
					}
					synctest.Wait()
					if slow {
						select {
						case <-res:
							t.Fatal("Run ended while a send was in progress")
						default:
						}
						close(releaseSlow)
					}
					var r runEnd
					select {
					case r = <-res:
					case <-time.After(time.Hour):
						t.Fatal("Run went on")
					}
					require.False(t, r.returned, "Run returned")
					require.Equal(t, "bad", r.recovered)
					require.False(t, e.running.Load())
					if !slow {
						close(releaseSlow)
					}
					cancel()
					synctest.Wait()
				})
			})
		}
	}
}
