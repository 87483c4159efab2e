package connector_test

import (
	"context"
	"slices"
	"testing"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/connectortest"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// An empty set with StopOthers, most likely definitions that failed to
// load, is refused: it would stop every campaign and cancel their pending
// deliveries for good. Without StopOthers it changes nothing.
func TestApplyRefusesAnEmptySetWithStopOthers(t *testing.T) {
	ctx := context.Background()
	h := connectortest.New(t)
	h.Apply(resendCampaigns...)
	h.Track(event.Event{ID: "r", UserID: "ann", Kind: event.EmailReceived, CampaignID: "newsletter"})
	for _, set := range [][]rule.Campaign{nil, {}} {
		require.ErrorIs(t, h.Engine.Apply(ctx, set, connector.StopOthers()), connector.ErrEmptySet)
		require.NoError(t, h.Engine.Apply(ctx, set))
	}
	for _, id := range []string{"newsletter", "resend"} {
		rec, err := h.Engine.Campaign(ctx, id)
		require.NoError(t, err)
		require.Equal(t, rule.Active, rec.State, id)
	}
	st, err := h.Engine.Stats(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(1), st.Pending, "ann's resend still waits")
}

// Apply plans from the campaigns as stored, not from a snapshot its
// store's cached revision keeps: another engine's stop and edit a moment
// before are undone, as documented, even while the revision lags.
func TestApplySeesAnotherEnginesChanges(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewMock()
	clk.Set(connectortest.Start)
	mem := store.NewMemory()
	lagging := &laggingRevision{Memory: mem}
	rec := &recorder{}
	a, b := newEngine(t, lagging, rec, clk), newEngine(t, mem, rec, clk)
	require.NoError(t, a.Apply(ctx, resendCampaigns))
	lagging.rev.Store(mustRevision(t, mem))

	require.NoError(t, b.Stop(ctx, "resend"))
	edited := resendCampaigns[0].Clone()
	edited.Message = []byte(`{"edited":true}`)
	require.NoError(t, b.Save(ctx, edited))

	require.NoError(t, a.Apply(ctx, resendCampaigns)) // a's revision still says nothing changed
	fresh := newEngine(t, mem, rec, clk)
	resend, err := fresh.Campaign(ctx, "resend")
	require.NoError(t, err)
	require.Equal(t, rule.Active, resend.State, "resumed")
	require.Equal(t, int64(2), resend.Activation)
	newsletter, err := fresh.Campaign(ctx, resendCampaigns[0].ID)
	require.NoError(t, err)
	require.Equal(t, string(resendCampaigns[0].Message), string(newsletter.Campaign.Message), "the set's definition again")
}

func mustRevision(t *testing.T, s store.Store) int64 {
	t.Helper()
	rev, err := s.Revision(context.Background(), "")
	require.NoError(t, err)
	return rev
}

// An operator's archive landing while Apply runs, after its plan, is what
// KeepStopped and StopOthers ask for: Apply leaves the campaign archived
// and succeeds, rather than failing the start of a replica.
func TestApplyTakesAnArchiveMadeMeanwhile(t *testing.T) {
	for _, tc := range []struct {
		name     string
		archive  string
		set      func() []rule.Campaign
		opt      connector.ApplyOption
		archived string
	}{
		{"KeepStopped, a campaign of the set", "resend", func() []rule.Campaign {
			edited := resendCampaigns[1].Clone()
			edited.Message = []byte(`{"edited":true}`)
			return []rule.Campaign{resendCampaigns[0], edited, {ID: "other"}}
		}, connector.KeepStopped(), "resend"},
		{"StopOthers, a campaign out of the set", "legacy", func() []rule.Campaign {
			return append(slices.Clone(resendCampaigns), rule.Campaign{ID: "other"})
		}, connector.StopOthers(), "legacy"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			clk := clock.NewMock()
			clk.Set(connectortest.Start)
			mem := store.NewMemory()
			rec := &recorder{}
			b := newEngine(t, mem, rec, clk)
			require.NoError(t, b.Apply(ctx, append(slices.Clone(resendCampaigns), rule.Campaign{ID: "legacy"})))
			archived := false
			a := newEngine(t, mem, rec, clk, connector.WithObserver(connector.ObserverFunc(func(d rule.Decision) {
				if d.Kind == rule.Applied && !archived { // Apply's first step: its plan is made
					archived = true
					require.NoError(t, b.Archive(ctx, tc.archive))
				}
			})))
			require.NoError(t, a.Apply(ctx, tc.set(), tc.opt))
			require.True(t, archived, "the archive landed during Apply")
			got, err := a.Campaign(ctx, tc.archived)
			require.NoError(t, err)
			require.Equal(t, rule.Archived, got.State)
		})
	}
}
