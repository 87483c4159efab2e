package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store/sqlite"
)

// measurePrune tracks n unique events, each from a new user, as steady
// traffic on a SQLite file: 500 events every 10 simulated minutes (72,000
// a day), each scheduling a reminder an hour later that is sent on time,
// with the engine's defaults (event IDs remembered 72 hours, pruning every
// minute) and receipts kept 24 hours. What the file holds levels off once
// the oldest state expires (after about three days): the table shows the
// file every 100,000 events.
func measurePrune(ctx context.Context, dir string, n int) error {
	path := filepath.Join(dir, fmt.Sprintf("prune-%d.db", time.Now().UnixNano()))
	defer func() {
		for _, suffix := range []string{"", "-wal", "-shm"} {
			os.Remove(path + suffix)
		}
	}()
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		return fmt.Errorf("opening %s: %w", path, err)
	}
	defer s.Close()
	clk := clock.NewMock()
	clk.Set(start)
	var sent int64
	send := connector.SenderFunc(func(context.Context, connector.Delivery) error { sent++; return nil })
	e, err := connector.New(s, send, connector.WithClock(clk), connector.WithSendConcurrency(1),
		connector.WithReceiptRetention(24*time.Hour))
	if err != nil {
		return err
	}
	reminder := rule.Campaign{ID: "cart_reminder", Triggers: []rule.Trigger{{Kind: event.PushReceived, CampaignID: "abandoned_cart"}},
		Delay: rule.After(time.Hour), Exceptions: []rule.Exception{{Kind: event.Purchase}},
		Reeligibility: rule.ReeligibleAfter(time.Hour), Message: []byte(`{"title":"Still thinking it over?"}`)}
	for _, c := range []rule.Campaign{{ID: "abandoned_cart"}, reminder} {
		if err := e.Save(ctx, c); err != nil {
			return err
		}
		if err := e.Publish(ctx, c.ID); err != nil {
			return err
		}
	}
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return err
	}
	defer db.Close()

	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight|tabwriter.Debug)
	fmt.Fprintln(w, "events\tsimulated days\tsent\tpending\tusers\tremembered IDs\tpages in use\tfree pages\tfile MB (with WAL)\t")
	report := func(events int) error {
		st, err := s.Stats(ctx, "")
		if err != nil {
			return err
		}
		var pages, free, seen int64
		err = db.QueryRowContext(ctx, `SELECT page_count, freelist_count, (SELECT count(*) FROM campaignconnector_seen)
			FROM pragma_page_count, pragma_freelist_count`).Scan(&pages, &free, &seen)
		if err != nil {
			return err
		}
		var size int64
		for _, suffix := range []string{"", "-wal"} {
			if fi, err := os.Stat(path + suffix); err == nil {
				size += fi.Size()
			}
		}
		fmt.Fprintf(w, "%d\t%.1f\t%d\t%d\t%d\t%d\t%d\t%d\t%.1f\t\n", events, clk.Now().Sub(start).Hours()/24,
			sent, st.Pending, st.Users, seen, pages-free, free, float64(size)/(1<<20))
		return nil
	}
	const perStep = 500
	began := time.Now()
	for i := 0; i < n; i += perStep {
		evs := make([]event.Event, 0, perStep)
		for j := i; j < min(n, i+perStep); j++ {
			evs = append(evs, event.Event{ID: fmt.Sprint("e", j), UserID: fmt.Sprint("u", j), Kind: event.PushReceived,
				CampaignID: "abandoned_cart", Properties: map[string]any{"cart": 3}})
		}
		if err := e.TrackAll(ctx, evs); err != nil {
			return err
		}
		clk.Add(10 * time.Minute)
		if _, err := e.Tick(ctx); err != nil {
			return err
		}
		if (i+perStep)%100_000 == 0 {
			if err := report(i + perStep); err != nil {
				return err
			}
		}
	}
	w.Flush()
	fmt.Printf("\n%d events in %v\n", n, time.Since(began).Round(time.Second))
	return nil
}
