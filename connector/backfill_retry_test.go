package connector_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/store"
)

// failUserOnce is a memory store whose first Update of user fails, after
// running before (when not nil).
type failUserOnce struct {
	*store.Memory
	user   string
	before func()
	failed bool
}

var errUserDown = errors.New("store down for this user")

func (s *failUserOnce) Update(ctx context.Context, ns, user string, now time.Time, d store.Dedup, fn func(*store.UserState, bool)) error {
	if user == s.user && !s.failed {
		s.failed = true
		if s.before != nil {
			s.before()
		}
		return errUserDown
	}
	return s.Memory.Update(ctx, ns, user, now, d, fn)
}

// TestABackfillRunAgainAsTheDocsSaySendsEachUserOnce: a backfill fails
// half way, after a delivery it scheduled (due at once: late) was sent.
// Publish says the campaign is active but its backfill failed, with the
// cause; doing what the docs say (stop, then publish with the backfill
// again) sends each user the follow-up exactly once, the one already
// sent included.
func TestABackfillRunAgainAsTheDocsSaySendsEachUserOnce(t *testing.T) {
	ctx := context.Background()
	clk := applyClock()
	send := &sentTo{}
	s := &failUserOnce{Memory: store.NewMemory()}
	e := newEngine(t, s, send, clk, connector.WithInteractionLog(30*day))
	draftResend(t, e)
	t0 := clk.Now()
	for i, u := range []string{"ann", "bob", "cid"} {
		require.NoError(t, e.Track(ctx, event.Event{ID: "r-" + u, UserID: u, Kind: event.EmailReceived, CampaignID: "newsletter", Time: t0.Add(time.Duration(i) * time.Minute)}))
	}
	clk.Add(8 * day) // the resends are late: due at once
	s.user = "bob"
	s.before = func() {
		_, err := e.Tick(ctx) // another replica sends ann's, backfilled first
		require.NoError(t, err)
	}
	err := e.Publish(ctx, "resend", connector.Backfill(t0))
	require.ErrorIs(t, err, errUserDown)
	require.ErrorContains(t, err, `connector: publish "resend": the campaign is active but its backfill failed`)
	require.Equal(t, []string{"ann"}, send.all())

	require.NoError(t, e.Stop(ctx, "resend"))
	clk.Add(time.Second)
	require.NoError(t, e.Publish(ctx, "resend", connector.Backfill(t0)))
	for range 3 {
		_, err := e.Tick(ctx)
		require.NoError(t, err)
		clk.Add(time.Minute)
	}
	got := send.all()
	slices.Sort(got)
	require.Equal(t, []string{"ann", "bob", "cid"}, got, "each user once")
}
