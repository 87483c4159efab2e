package connector_test

import (
	"context"
	"fmt"
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

// slowDirectory waits, once slow is set, for latency on the mock clock
// (a waitDirectory of its wait).
type slowDirectory struct {
	clk     *clock.Mock
	latency time.Duration
	slow    atomic.Bool
}

func (d *slowDirectory) wait() {
	if d.slow.Load() {
		<-d.clk.Timer(d.latency).C
	}
}

// waitDirectory is a directory whose calls wait for the function to
// return, then answer: every user is in UTC and in every segment.
type waitDirectory func()

func (w waitDirectory) Location(context.Context, string) (*time.Location, error) {
	w()
	return time.UTC, nil
}

func (w waitDirectory) InSegment(context.Context, string, string) (bool, error) {
	w()
	return true, nil
}

// TestSlowDirectoryDoesNotShortenTheLease checks that a delivery whose
// send-time checks wait for a slow directory (20 s here, a third of the
// lease) is leased for its send from the end of its checks, not from
// their start: the other engine, ticking meanwhile, never gets a delivery
// that is being sent, and none is sent twice.
func TestSlowDirectoryDoesNotShortenTheLease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := clock.NewMock()
		mem := store.NewMemory()
		send := &slowSender{clk: clk, latency: 25 * time.Second}
		dir := &slowDirectory{clk: clk, latency: 50 * time.Second}
		var engines []*connector.Engine
		for range 2 {
			e, err := connector.New(mem, send, connector.WithClock(clk), connector.WithSendConcurrency(2),
				connector.WithSendTimeout(30*time.Second), connector.WithLease(time.Minute),
				connector.WithDirectory(waitDirectory(dir.wait)))
			require.NoError(t, err)
			engines = append(engines, e)
		}
		ctx := context.Background()
		e := engines[0]
		require.NoError(t, e.Save(ctx, rule.Campaign{ID: "o"}))
		require.NoError(t, e.Save(ctx, rule.Campaign{ID: "f", Triggers: []rule.Trigger{{Kind: event.PushOpened, CampaignID: "o"}},
			SendWindow: &rule.SendWindow{From: rule.At(0, 0), To: rule.At(23, 59)}})) // the window needs the user's zone
		require.NoError(t, e.Publish(ctx, "f"))
		require.NoError(t, e.Publish(ctx, "o"))
		const users = 6
		for i := range users {
			require.NoError(t, e.Track(ctx, event.Event{UserID: fmt.Sprint("u", i), Kind: event.PushOpened, CampaignID: "o"}))
		}
		dir.slow.Store(true)
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
