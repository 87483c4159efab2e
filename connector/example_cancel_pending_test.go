package connector_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// flakyStore is a memory store whose cancellations fail while down is set:
// a database that goes away in the middle of a stop.
type flakyStore struct {
	*store.Memory
	down bool
}

func (s *flakyStore) CancelCampaignBatch(ctx context.Context, ns, id, cursor string, limit int) ([]store.Claim, string, error) {
	if s.down {
		return nil, "", errors.New("connection refused")
	}
	return s.Memory.CancelCampaignBatch(ctx, ns, id, cursor, limit)
}

// A stop whose store fails after the campaign is stopped, but before its
// pending deliveries are cancelled, returns ErrNotCancelled: the campaign
// is stopped all the same, and nothing of it is sent, but its deliveries
// stay listed as pending until each falls due. CancelPending finishes the
// cancellation once the store is back, each delivery with its decision.
func ExampleEngine_CancelPending() {
	ctx := context.Background()
	clk := clock.NewMock()
	clk.Set(time.Date(2026, time.March, 2, 9, 0, 0, 0, time.UTC))
	s := &flakyStore{Memory: store.NewMemory()}
	send := connector.SenderFunc(func(context.Context, connector.Delivery) error { return nil })
	var cancelled []string // the decisions, printed in users' order
	observe := connector.ObserverFunc(func(d rule.Decision) {
		if d.Kind == rule.Cancelled {
			cancelled = append(cancelled, fmt.Sprintf("%s %s for %s: %s (%s)", d.Kind, d.CampaignID, d.UserID, d.Reason, d.Detail))
		}
	})
	engine, err := connector.New(s, send, connector.WithClock(clk), connector.WithObserver(observe))
	if err != nil {
		panic(err)
	}
	err = engine.Apply(ctx, []rule.Campaign{{ID: "newsletter"}, {
		ID:       "resend",
		Triggers: []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "newsletter"}},
		Delay:    rule.After(7 * 24 * time.Hour),
	}})
	if err != nil {
		panic(err)
	}
	for _, user := range []string{"ann", "bob"} {
		_ = engine.Track(ctx, event.Event{UserID: user, Kind: event.EmailReceived, CampaignID: "newsletter"})
	}

	s.down = true
	err = engine.Stop(ctx, "resend")
	fmt.Println("stop cut short:", errors.Is(err, connector.ErrNotCancelled))
	n, _ := engine.CampaignPendingCount(ctx, "resend", 100)
	fmt.Println("pending:", n)

	s.down = false
	if err := engine.CancelPending(ctx, "resend"); err != nil {
		panic(err)
	}
	slices.Sort(cancelled)
	fmt.Println(strings.Join(cancelled, "\n"))
	n, _ = engine.CampaignPendingCount(ctx, "resend", 100)
	fmt.Println("pending:", n)

	// Output:
	// stop cut short: true
	// pending: 2
	// cancelled resend for ann: campaign_stopped (stop)
	// cancelled resend for bob: campaign_stopped (stop)
	// pending: 0
}
