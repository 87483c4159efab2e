package connector_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// TestAKeptRecordStoredDuringAnotherEnginesFailedSendIsNoStop: engine A's
// record of a send that went through was lost. Once the store answers,
// engine B claims the delivery, confirms attempt 2 and sends it; during
// that send A's Tick stores its kept record, which removes the delivery
// as delivered. B's send then fails. Nobody stopped the campaign: B's
// record must not report its send cancelled by a stop: it tells that
// another engine's send delivered it.
func TestAKeptRecordStoredDuringAnotherEnginesFailedSendIsNoStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := clock.NewMock()
		s := &outage{Memory: store.NewMemory()}
		la := &sendLog{}
		entered, open := make(chan struct{}), make(chan struct{})
		lb := &sendLog{answer: errors.New("the provider refused"), during: func() {
			entered <- struct{}{}
			<-open
		}}
		o := &outcomes{}
		a := keptEngine(t, s, la, clk, o)
		b, err := connector.New(s, lb, connector.WithClock(clk), connector.WithSendConcurrency(1),
			connector.WithObserver(connector.ObserverFunc(o.observe)))
		require.NoError(t, err)
		ctx := context.Background()
		id := loseRecord(t, a, clk, s, la).ID

		clk.Add(time.Minute) // past the lease
		bDone := make(chan error, 1)
		go func() {
			_, err := b.Tick(ctx)
			bDone <- err
		}()
		<-entered // B sends attempt 2
		n, err := tickSettled(a, clk, time.Second)
		require.NoError(t, err)
		require.Zero(t, n)
		close(open)
		require.NoError(t, <-bDone)
		require.Len(t, lb.sends(), 1)
		require.Equal(t, 2, lb.sends()[0].Attempt)

		var bSaid *rule.Decision
		for _, d := range o.all() {
			if d.DeliveryID == id && d.Attempt == 2 {
				bSaid = &d
			}
		}
		require.NotNil(t, bSaid, "B's send has no outcome: %v", o.all())
		require.NotEqual(t, rule.ReasonCampaignStopped, bSaid.Reason,
			"B reports its send cancelled by a stop that never happened: %+v", *bSaid)
		require.Equal(t, rule.Retried, bSaid.Kind, "%+v", *bSaid)
		require.Contains(t, bSaid.Detail, "another engine's send delivered it")
		require.Equal(t, rule.Retried, bSaid.Kind, "%+v", *bSaid)
		require.Contains(t, bSaid.Detail, "another engine's send delivered it")
		require.Zero(t, tallied(t, a, "now", rule.Cancelled))
		require.Equal(t, []rule.DecisionKind{rule.Delivered, rule.Retried}, o.of(id))
		require.Equal(t, []rule.DecisionKind{rule.Delivered, rule.Retried}, o.of(id))
	})
}
