package sqlite_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store/sqlite"
)

// An engine on a SQLite file: campaigns applied at the start, a receipt
// tracked, and the resend sent a week later. Reopened, the file still
// holds the campaigns, and Apply changes nothing.
func ExampleOpen() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "campaigns")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "campaigns.db")

	clk := clock.NewMock()
	clk.Set(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	campaigns := []rule.Campaign{
		{ID: "newsletter"},
		{ID: "resend", Delay: rule.After(7 * 24 * time.Hour),
			Triggers:   []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "newsletter"}},
			Exceptions: []rule.Exception{{Kind: event.EmailOpened, CampaignID: "newsletter"}}},
	}
	sender := connector.SenderFunc(func(_ context.Context, d connector.Delivery) error {
		fmt.Printf("send %s to %s\n", d.CampaignID, d.UserID)
		return nil
	})

	s, err := sqlite.Open(ctx, path)
	if err != nil {
		log.Fatal(err)
	}
	engine, err := connector.New(s, sender, connector.WithClock(clk))
	if err != nil {
		log.Fatal(err)
	}
	if err := engine.Apply(ctx, campaigns, connector.KeepStopped()); err != nil {
		log.Fatal(err)
	}
	if err := engine.Track(ctx, event.Event{ID: "sg-1", UserID: "ann", Kind: event.EmailReceived, CampaignID: "newsletter"}); err != nil {
		log.Fatal(err)
	}
	if err := s.Close(); err != nil {
		log.Fatal(err)
	}

	// A restart, a week later.
	clk.Add(7 * 24 * time.Hour)
	s, err = sqlite.Open(ctx, path)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	engine, err = connector.New(s, sender, connector.WithClock(clk))
	if err != nil {
		log.Fatal(err)
	}
	if err := engine.Apply(ctx, campaigns, connector.KeepStopped()); err != nil {
		log.Fatal(err)
	}
	n, err := engine.Tick(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("sent:", n)
	// Output:
	// send resend to ann
	// sent: 1
}
