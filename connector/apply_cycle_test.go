package connector_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// TestApplyLongCycleErrorStaysSmall gives Apply a set whose 2,000
// follow-ups trigger on each other in one loop (a generator's mistake).
// Each of them is named, with its field and ErrCycle, but the reason lists
// a few campaigns of the loop, not all of them: listing the whole loop for
// each member made the error grow with the square of the loop (32 MB
// here, 800 MB for 10,000 campaigns, and most of a minute to build).
func TestApplyLongCycleErrorStaysSmall(t *testing.T) {
	const n = 2000
	id := func(i int) string { return fmt.Sprintf("c%04d", i%n) }
	var set []rule.Campaign
	for i := range n {
		set = append(set, rule.Campaign{ID: id(i), Delay: rule.After(time.Hour),
			Triggers: []rule.Trigger{{Kind: event.EmailOpened, CampaignID: id(i + n - 1)}}})
	}
	mem := store.NewMemory()
	e := newEngine(t, mem, noop, applyClock())
	err := e.Apply(context.Background(), set)
	require.ErrorIs(t, err, connector.ErrCycle)
	text := err.Error()
	require.Less(t, len(text), 1<<20, "the error grows with the square of the loop")
	for i := range n {
		require.Contains(t, text, fmt.Sprintf(`connector: campaign %q: triggers[0].campaign_id: campaigns c0000, c0001,`, id(i)))
	}
	require.Equal(t, n, strings.Count(text, "and 1990 more trigger on each other"))
	recs, err := e.Campaigns(context.Background())
	require.NoError(t, err)
	require.Empty(t, recs, "an invalid set changes nothing")
}
