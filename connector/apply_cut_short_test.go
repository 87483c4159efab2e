package connector_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// failsAtCall is a memory store whose n-th campaign call (Campaigns,
// Revision, UpdateCampaign, CancelCampaign) fails; with lostReply, a
// write it fails is made all the same, its answer lost.
type failsAtCall struct {
	*store.Memory
	lostReply bool

	mu        sync.Mutex
	calls, at int
}

var errAtCall = errors.New("the store fails this call")

func (s *failsAtCall) arm(at int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls, s.at = 0, at
}

func (s *failsAtCall) fails() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	return s.calls == s.at
}

func (s *failsAtCall) Campaigns(ctx context.Context, ns string) (int64, []store.CampaignRecord, error) {
	if s.fails() {
		return 0, nil, errAtCall
	}
	return s.Memory.Campaigns(ctx, ns)
}

func (s *failsAtCall) Revision(ctx context.Context, ns string) (int64, error) {
	if s.fails() {
		return 0, errAtCall
	}
	return s.Memory.Revision(ctx, ns)
}

func (s *failsAtCall) UpdateCampaign(ctx context.Context, ns, id string, fn func(*store.CampaignRecord, bool) error) (store.CampaignRecord, error) {
	if s.fails() {
		if s.lostReply {
			_, _ = s.Memory.UpdateCampaign(ctx, ns, id, fn)
		}
		return store.CampaignRecord{}, errAtCall
	}
	return s.Memory.UpdateCampaign(ctx, ns, id, fn)
}

func (s *failsAtCall) CancelCampaign(ctx context.Context, ns, id string) ([]store.Claim, error) {
	if s.fails() {
		if s.lostReply {
			_, _ = s.Memory.CancelCampaign(ctx, ns, id)
		}
		return nil, errAtCall
	}
	return s.Memory.CancelCampaign(ctx, ns, id)
}

func (s *failsAtCall) CancelCampaignBatch(ctx context.Context, ns, id, cursor string, limit int) ([]store.Claim, string, error) {
	if s.fails() {
		if s.lostReply {
			_, _, _ = s.Memory.CancelCampaignBatch(ctx, ns, id, cursor, limit)
		}
		return nil, "", errAtCall
	}
	return s.Memory.CancelCampaignBatch(ctx, ns, id, cursor, limit)
}

// TestApplyCutShortAtEveryStoreCall deploys a new set over an old one
// with pending deliveries: a campaign dropped ("gone"), one edited onto a
// new original ("resend" onto "promo"), a follow-up turned into an
// original ("flip"), a new chain of follow-ups ("thanks", "more"). The
// store fails each of Apply's campaign calls in turn, before or after
// the write. Whatever the cut, no original that was not active before is
// active without its follow-ups of the set, and the next Apply brings the
// store to what one Apply without failures leaves.
func TestApplyCutShortAtEveryStoreCall(t *testing.T) {
	ctx := context.Background()
	on := func(kind event.Kind, id string) []rule.Trigger { return []rule.Trigger{{Kind: kind, CampaignID: id}} }
	old := []rule.Campaign{
		{ID: "news"},
		{ID: "resend", Delay: rule.After(24 * time.Hour), Triggers: on(event.EmailReceived, "news")},
		{ID: "gone", Delay: rule.After(24 * time.Hour), Triggers: on(event.EmailReceived, "news")},
		{ID: "flip", Delay: rule.After(24 * time.Hour), Triggers: on(event.EmailReceived, "news")},
	}
	next := []rule.Campaign{
		{ID: "promo"},
		{ID: "news"},
		{ID: "resend", Delay: rule.After(48 * time.Hour), Triggers: on(event.EmailReceived, "promo")},
		{ID: "thanks", Delay: rule.After(time.Hour), Triggers: on(event.EmailOpened, "resend")},
		{ID: "more", Delay: rule.After(time.Hour), Triggers: on(event.EmailOpened, "thanks")},
		{ID: "flip"},
	}
	deployed := func(s store.Store) {
		clk := applyClock()
		e := newEngine(t, s, noop, clk)
		require.NoError(t, e.Apply(ctx, old))
		for _, u := range []string{"ann", "bob"} {
			require.NoError(t, e.Track(ctx, event.Event{ID: "r-" + u, UserID: u, Kind: event.EmailReceived, CampaignID: "news", Time: clk.Now()}))
		}
	}
	state := func(s store.Store) string {
		e := newEngine(t, s, noop, applyClock())
		recs, err := e.Campaigns(ctx)
		require.NoError(t, err)
		pending, err := e.PendingDeliveries(ctx, store.PendingQuery{Limit: 100})
		require.NoError(t, err)
		out := fmt.Sprintf("%d pending", len(pending))
		for _, r := range recs {
			out += fmt.Sprintf("\n%s %s %+v", r.Campaign.ID, r.State, r.Campaign)
		}
		return out
	}
	clean := store.NewMemory()
	deployed(clean)
	require.NoError(t, newEngine(t, clean, noop, applyClock()).Apply(ctx, next, connector.StopOthers()))
	want := state(clean)

	for _, lostReply := range []bool{false, true} {
		for at := 1; ; at++ {
			s := &failsAtCall{Memory: store.NewMemory(), lostReply: lostReply}
			deployed(s.Memory)
			e := newEngine(t, s, noop, applyClock())
			s.arm(at)
			err := e.Apply(ctx, next, connector.StopOthers())
			if s.calls < at {
				require.NoError(t, err)
				require.Equal(t, want, state(s.Memory))
				break
			}
			require.ErrorIs(t, err, errAtCall, "call %d", at)
			restart := newEngine(t, s.Memory, noop, applyClock())
			stateOf := func(id string) rule.State {
				rec, err := restart.Campaign(ctx, id)
				if errors.Is(err, connector.ErrUnknownCampaign) {
					return "none"
				}
				require.NoError(t, err)
				return rec.State
			}
			for _, c := range next {
				for _, tr := range c.Triggers {
					wasActive := tr.CampaignID == "news" || tr.CampaignID == "resend"
					o, f := stateOf(tr.CampaignID), stateOf(c.ID)
					require.False(t, !wasActive && o == rule.Active && f != rule.Active,
						"call %d (lost reply %v): %s is active, its follow-up %s %s", at, lostReply, tr.CampaignID, c.ID, f)
				}
			}
			require.NoError(t, restart.Apply(ctx, next, connector.StopOthers()), "call %d", at)
			require.Equal(t, want, state(s.Memory), "call %d (lost reply %v)", at, lostReply)
		}
	}
}
