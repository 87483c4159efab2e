package connector_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// TestCheckLongCycleStaysSmall: 2,000 stored follow-ups trigger on each
// other in one loop (saved one by one, or left by two overlapping
// Applies). Check warns about each, and each warning's detail shows the
// loop's first campaigns and how many more, not the whole loop: that made
// Check's answer grow with the square of the loop (36 MB here, over a
// gigabyte for 10,000 campaigns), at every look at the dashboard.
func TestCheckLongCycleStaysSmall(t *testing.T) {
	ctx := context.Background()
	const n = 2000
	id := func(i int) string { return fmt.Sprintf("c%04d", i%n) }
	e := newEngine(t, store.NewMemory(), noop, applyClock())
	var set []rule.Campaign
	for i := range n {
		set = append(set, rule.Campaign{ID: id(i)})
	}
	require.NoError(t, e.Apply(ctx, set))
	for i := range n {
		require.NoError(t, e.Save(ctx, rule.Campaign{ID: id(i), Delay: rule.After(time.Hour),
			Triggers: []rule.Trigger{{Kind: event.EmailOpened, CampaignID: id(i + n - 1)}}}))
	}
	ws, err := e.Check(ctx)
	require.NoError(t, err)
	require.Len(t, ws, n)
	size := 0
	for _, w := range ws {
		require.Equal(t, rule.ReasonCycle, w.Reason)
		require.True(t, strings.HasPrefix(w.Detail, "follow-ups trigger on each other: c0000 → c0001 → "), w.Detail[:min(len(w.Detail), 200)])
		require.True(t, strings.HasSuffix(w.Detail, " → … 1990 more → c0000"), w.Detail[:min(len(w.Detail), 200)])
		size += len(w.Detail)
	}
	require.Less(t, size, 1<<20, "the warnings grow with the square of the loop")
}
