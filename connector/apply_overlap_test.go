package connector_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// TestApplyOverlappingSetsMixUntilTheNextApply: two replicas of a
// rolling deploy apply different sets at once, each planning from the
// store before the other changed it. The old set makes x a follow-up of
// y, the new one y a follow-up of x; each campaign is saved by the one
// replica whose set differs from the store. Both Applies succeed, and the
// store holds a mix that neither set is: x and y trigger on each other,
// which Check reports. The next Apply of either set alone brings the
// store to that set.
func TestApplyOverlappingSetsMixUntilTheNextApply(t *testing.T) {
	ctx := context.Background()
	clk := applyClock()
	mem := store.NewMemory()
	seed := newEngine(t, mem, noop, clk)
	require.NoError(t, seed.Apply(ctx, []rule.Campaign{{ID: "x"}, {ID: "y"}}))
	on := func(id string) []rule.Trigger { return []rule.Trigger{{Kind: event.EmailReceived, CampaignID: id}} }
	old := []rule.Campaign{{ID: "x", Delay: rule.After(time.Hour), Triggers: on("y")}, {ID: "y"}}
	next := []rule.Campaign{{ID: "x"}, {ID: "y", Delay: rule.After(time.Hour), Triggers: on("x")}}

	var arrived sync.WaitGroup
	arrived.Add(2)
	a := newEngine(t, &barrierStore{Store: mem, arrived: &arrived}, noop, clk)
	b := newEngine(t, &barrierStore{Store: mem, arrived: &arrived}, noop, clk)
	var wg sync.WaitGroup
	var errA, errB error
	wg.Go(func() { errA = a.Apply(ctx, old) })
	wg.Go(func() { errB = b.Apply(ctx, next) })
	wg.Wait()
	require.NoError(t, errA)
	require.NoError(t, errB)
	ws, err := seed.Check(ctx)
	require.NoError(t, err)
	require.Len(t, ws, 2)
	for _, w := range ws {
		require.Equal(t, rule.ReasonCycle, w.Reason)
	}

	require.NoError(t, a.Apply(ctx, old))
	for _, c := range old {
		rec, err := seed.Campaign(ctx, c.ID)
		require.NoError(t, err)
		require.Equal(t, rule.Active, rec.State)
		require.Equal(t, c, rec.Campaign)
	}
	ws, err = seed.Check(ctx)
	require.NoError(t, err)
	require.Empty(t, ws)
}

// TestApplyOldSetRefusedWhenTheNewReversesATrigger: the old set has x
// trigger on y, which it leaves out (another part of the host saves y);
// the new set holds both and has y trigger on x. Once a new replica has
// applied it, an old replica's Apply would store a loop: it is refused
// with ErrCycle and changes nothing, and the new set still applies.
func TestApplyOldSetRefusedWhenTheNewReversesATrigger(t *testing.T) {
	ctx := context.Background()
	mem := store.NewMemory()
	e := newEngine(t, mem, noop, applyClock())
	on := func(id string) []rule.Trigger { return []rule.Trigger{{Kind: event.EmailReceived, CampaignID: id}} }
	require.NoError(t, e.Save(ctx, rule.Campaign{ID: "y"}))
	old := []rule.Campaign{{ID: "x", Delay: rule.After(time.Hour), Triggers: on("y")}}
	next := []rule.Campaign{{ID: "x"}, {ID: "y", Delay: rule.After(time.Hour), Triggers: on("x")}}
	require.NoError(t, e.Apply(ctx, old))
	require.NoError(t, e.Apply(ctx, next))
	rev, err := mem.Revision(ctx, "")
	require.NoError(t, err)

	require.ErrorIs(t, e.Apply(ctx, old), connector.ErrCycle)
	after, err := mem.Revision(ctx, "")
	require.NoError(t, err)
	require.Equal(t, rev, after, "a refused set changes nothing")
	require.NoError(t, e.Apply(ctx, next))
}
