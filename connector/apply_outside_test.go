package connector_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/stretchr/testify/require"
)

// TestApplySummaryCountsActiveCampaignsOutsideTheSet: a campaign dropped
// from the code stays active unless StopOthers is passed, and Apply's
// summary says how many it left so, rather than looking as if the drop
// took effect.
func TestApplySummaryCountsActiveCampaignsOutsideTheSet(t *testing.T) {
	ctx := context.Background()
	clk := applyClock()
	mem := store.NewMemory()
	e := newEngine(t, mem, noop, clk)
	require.NoError(t, e.Apply(ctx, chain(24*time.Hour)))

	withoutThanks := chain(24 * time.Hour)[:2]
	var log bytes.Buffer
	e2 := newEngine(t, mem, noop, clk, infoLogger(&log))
	require.NoError(t, e2.Apply(ctx, withoutThanks))
	require.Contains(t, log.String(), "apply: created 0, edited 0, published 0, resumed 0, stopped 0, unchanged 2, left active outside the set 1 (StopOthers stops them)")
	require.Contains(t, log.String(), "active_outside=1")
	rec, err := e2.Campaign(ctx, "thanks")
	require.NoError(t, err)
	require.Equal(t, rule.Active, rec.State)

	log.Reset()
	e3 := newEngine(t, mem, noop, clk, infoLogger(&log))
	require.NoError(t, e3.Apply(ctx, withoutThanks, connector.StopOthers()))
	require.Contains(t, log.String(), "apply: created 0, edited 0, published 0, resumed 0, stopped 1, unchanged 2\"")
	require.NotContains(t, log.String(), "outside the set 1")
	require.Contains(t, log.String(), "active_outside=0")
	rec, err = e3.Campaign(ctx, "thanks")
	require.NoError(t, err)
	require.Equal(t, rule.Stopped, rec.State)
}
