package dashboard

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// manyCampaigns is an engine on a memory store with 250 originals and 250
// follow-ups (the first original named by 100 of them), each follow-up
// with a tally of six kinds for every hour of the last 30 days, counts
// varying from hour to hour as traffic does.
func manyCampaigns(tb testing.TB) *connector.Engine {
	tb.Helper()
	ctx := context.Background()
	clk := clock.NewMock()
	clk.Set(fixtureNow)
	mem := store.NewMemory()
	send := connector.SenderFunc(func(context.Context, connector.Delivery) error { return nil })
	e, err := connector.New(mem, send, connector.WithClock(clk))
	if err != nil {
		tb.Fatal(err)
	}
	var cs []rule.Campaign
	for i := range 250 {
		cs = append(cs, rule.Campaign{ID: fmt.Sprintf("original-%03d", i)})
	}
	for i := range 250 {
		of := 0
		if i >= 100 {
			of = i
		}
		cs = append(cs, rule.Campaign{ID: fmt.Sprintf("follow-up-%03d", i), Delay: rule.After(24 * time.Hour),
			Triggers: []rule.Trigger{{Kind: event.EmailReceived, CampaignID: fmt.Sprintf("original-%03d", of)}}})
	}
	if err := e.Apply(ctx, cs); err != nil {
		tb.Fatal(err)
	}
	var ts []store.Tally
	end := fixtureNow.Truncate(time.Hour)
	for i := range 250 {
		id := fmt.Sprintf("follow-up-%03d", i)
		for h := range 30 * 24 {
			hour := end.Add(-time.Duration(h) * time.Hour)
			n := int64(1 + (h*7919+i*104729)%97) // deterministic, uneven
			ts = append(ts,
				tally{Hour: hour, CampaignID: id, Kind: rule.Scheduled, Count: 5 * n},
				tally{Hour: hour, CampaignID: id, Kind: rule.Suppressed, Reason: rule.ReasonAlreadyPending, Count: n % 7},
				tally{Hour: hour, CampaignID: id, Kind: rule.Cancelled, Reason: rule.ReasonException, Rule: "x", Count: 2 * n},
				tally{Hour: hour, CampaignID: id, Kind: rule.Delivered, Count: 3 * n},
				tally{Hour: hour, CampaignID: id, Kind: rule.Failed, Reason: rule.ReasonSendError, Count: n % 5},
				tally{Hour: hour, CampaignID: id, Kind: rule.Converted, Count: n / 3})
		}
		if len(ts) > 50_000 {
			if err := mem.AddTallies(ctx, "", ts); err != nil {
				tb.Fatal(err)
			}
			ts = ts[:0]
		}
	}
	if err := mem.AddTallies(ctx, "", ts); err != nil {
		tb.Fatal(err)
	}
	return e
}

// BenchmarkCampaignsPage500Campaigns loads the first campaigns page of an
// engine with 500 campaigns and a month of tallies.
func BenchmarkCampaignsPage500Campaigns(b *testing.B) {
	h, err := New(manyCampaigns(b), quietLogger())
	if err != nil {
		b.Fatal(err)
	}
	for _, enc := range []string{"", "gzip"} {
		b.Run("encoding="+enc, func(b *testing.B) {
			var size int
			for b.Loop() {
				rec := httptest.NewRecorder()
				req := httptest.NewRequest(http.MethodGet, "/", nil)
				if enc != "" {
					req.Header.Set("Accept-Encoding", enc)
				}
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("status %d", rec.Code)
				}
				size = rec.Body.Len()
			}
			b.ReportMetric(float64(size), "bytes/page")
		})
	}
}

// BenchmarkHealthPage500Campaigns loads the health page (a day's window)
// of the engine of BenchmarkCampaignsPage500Campaigns.
func BenchmarkHealthPage500Campaigns(b *testing.B) {
	h, err := New(manyCampaigns(b), quietLogger())
	if err != nil {
		b.Fatal(err)
	}
	for _, target := range []string{"/health", "/health?range=7d"} {
		b.Run(target, func(b *testing.B) {
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
				if rec.Code != http.StatusOK {
					b.Fatalf("status %d", rec.Code)
				}
			}
		})
	}
}
