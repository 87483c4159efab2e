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

// TestApplyEditedSaysWhatChanged applies a chain, then the same chain
// with the resend's delay shortened and a purchase added to its
// exceptions: the edited decision's detail, and the logger's line, say
// so after "definition saved", and name no field left as it was.
func TestApplyEditedSaysWhatChanged(t *testing.T) {
	ctx := context.Background()
	clk := applyClock()
	obs := &applied{}
	var log bytes.Buffer
	e := newEngine(t, store.NewMemory(), noop, clk, connector.WithObserver(obs), infoLogger(&log))
	require.NoError(t, e.Apply(ctx, chain(168*time.Hour)))
	obs.reset()

	set := chain(72 * time.Hour)
	set[1].Exceptions = append(set[1].Exceptions, rule.Exception{Kind: event.Purchase})
	require.NoError(t, e.Apply(ctx, set))
	require.Equal(t, []string{"edited resend"}, obs.lines())
	const want = "definition saved: delay after 168h0m0s → after 72h0m0s; exceptions +purchase"
	require.Equal(t, want, obs.ds[0].Detail)
	require.Contains(t, log.String(), "detail=\""+want+"\"")
}
