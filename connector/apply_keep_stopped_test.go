package connector_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/stretchr/testify/require"
)

// An operator stops a campaign; the next start applies the set again.
// Without KeepStopped the campaign resumes and the logger warns, naming
// it; with KeepStopped it stays stopped, its edited definition is saved,
// a new draft of the set is still published, and a trigger schedules
// nothing for it.
func TestApplyKeepStoppedLeavesAnOperatorsStop(t *testing.T) {
	ctx := context.Background()
	clk := applyClock()
	mem := store.NewMemory()
	seen := &applied{}
	var log bytes.Buffer
	e := newEngine(t, mem, noop, clk, connector.WithObserver(seen),
		infoLogger(&log))
	require.NoError(t, e.Apply(ctx, chain(24*time.Hour)))
	require.NoError(t, e.Stop(ctx, "resend"))

	seen.reset()
	edited := chain(48 * time.Hour)
	extra := rule.Campaign{ID: "extra", Delay: rule.After(time.Hour), Triggers: []rule.Trigger{{Kind: event.Purchase}}}
	require.NoError(t, e.Apply(ctx, append(edited, extra), connector.KeepStopped()))
	require.Equal(t, []string{"created extra", "edited resend", "published extra"}, seen.lines())
	rec, err := e.Campaign(ctx, "resend")
	require.NoError(t, err)
	require.Equal(t, rule.Stopped, rec.State, "KeepStopped resumed the campaign")
	require.Equal(t, rule.After(48*time.Hour), rec.Campaign.Delay, "the edit was not saved")
	require.EqualValues(t, 1, rec.Activation)
	require.Contains(t, log.String(), "kept_stopped=1")
	require.Contains(t, log.String(), "apply: created 1, edited 1, published 1, resumed 0, stopped 0, unchanged 2, kept stopped 1")
	require.Contains(t, log.String(), `msg="campaignconnector: apply left a stopped campaign stopped (KeepStopped)" namespace="" campaign=resend`)
	require.NotContains(t, log.String(), "level=WARN")
	require.NoError(t, e.Track(ctx, event.Event{ID: "r1", UserID: "ann", Kind: event.EmailReceived, CampaignID: "news", Time: clk.Now()}))
	_, err = mem.User(ctx, "", "ann")
	require.ErrorIs(t, err, store.ErrNotFound, "a stopped follow-up scheduled a delivery")

	seen.reset()
	log.Reset()
	require.NoError(t, e.Apply(ctx, append(edited, extra)))
	require.Equal(t, []string{"published resend"}, seen.lines())
	rec, err = e.Campaign(ctx, "resend")
	require.NoError(t, err)
	require.Equal(t, rule.Active, rec.State)
	require.Contains(t, log.String(), `level=WARN msg="campaignconnector: apply resumed a stopped campaign; pass connector.KeepStopped() to Apply to leave stopped campaigns stopped" namespace="" campaign=resend`)
	require.Contains(t, log.String(), "resumed 1")
}

// An operator archives a campaign of the set: Apply refuses the set (an
// archived campaign cannot be published again), which would stop every
// replica's start; with KeepStopped it leaves the campaign archived, says
// so, and applies the rest.
func TestApplyKeepStoppedLeavesAnArchivedCampaign(t *testing.T) {
	ctx := context.Background()
	clk := applyClock()
	mem := store.NewMemory()
	var log bytes.Buffer
	e := newEngine(t, mem, noop, clk,
		infoLogger(&log))
	require.NoError(t, e.Apply(ctx, chain(24*time.Hour)))
	require.NoError(t, e.Archive(ctx, "thanks"))

	err := e.Apply(ctx, chain(24*time.Hour))
	require.ErrorIs(t, err, connector.ErrInvalidTransition)
	// The error names the way out: the archive is final.
	require.ErrorContains(t, err, `campaign "thanks": id: the campaign is archived: it cannot be published again; remove it from the set, or pass connector.KeepStopped() to leave it archived`)

	edited := chain(48 * time.Hour)
	log.Reset()
	require.NoError(t, e.Apply(ctx, edited, connector.KeepStopped()))
	rec, err := e.Campaign(ctx, "thanks")
	require.NoError(t, err)
	require.Equal(t, rule.Archived, rec.State)
	rec, err = e.Campaign(ctx, "resend")
	require.NoError(t, err)
	require.Equal(t, rule.After(48*time.Hour), rec.Campaign.Delay, "the rest of the set was not applied")
	require.Contains(t, log.String(), "apply: created 0, edited 1, published 0, resumed 0, stopped 0, unchanged 1, kept archived 1")
	require.Contains(t, log.String(), `msg="campaignconnector: apply left an archived campaign archived (KeepStopped)" namespace="" campaign=thanks`)
}

// A set whose only cycle goes through a campaign KeepStopped leaves
// archived is applied: the archived campaign triggers nothing.
func TestApplyKeepStoppedNoCycleThroughAnArchivedCampaign(t *testing.T) {
	ctx := context.Background()
	e := newEngine(t, store.NewMemory(), noop, applyClock())
	require.NoError(t, e.Apply(ctx, chain(24*time.Hour)))
	require.NoError(t, e.Archive(ctx, "thanks"))
	set := chain(24 * time.Hour)
	// resend now also triggers on thanks, which triggers on resend.
	set[1].Triggers = append(set[1].Triggers, rule.Trigger{Kind: event.EmailOpened, CampaignID: "thanks"})
	require.ErrorIs(t, e.Apply(ctx, set), connector.ErrInvalidTransition)
	require.NoError(t, e.Apply(ctx, set, connector.KeepStopped()))
	rec, err := e.Campaign(ctx, "resend")
	require.NoError(t, err)
	require.Len(t, rec.Campaign.Triggers, 2)
}

// infoLogger logs the engine's Info lines and above to w, as text.
