package connector_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
)

// BenchmarkTrackMadeUpCampaignIDs tracks events naming ever new campaign
// IDs the engine does not know (a provider sending garbage), without a
// logger and with one: the logger keeps a line a minute for up to 1,024
// IDs, and a flood fills them within the minute. cpu-ns/op stays within a
// few hundred nanoseconds of the run without a logger when a full map is
// not walked for every new ID.
func BenchmarkTrackMadeUpCampaignIDs(b *testing.B) {
	for _, logged := range []bool{false, true} {
		b.Run(fmt.Sprint("logger=", logged), func(b *testing.B) {
			clk := clock.NewMock()
			clk.Set(time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC))
			opts := []connector.Option{connector.WithClock(clk)}
			if logged {
				opts = append(opts, connector.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
			}
			e, _ := fanOutEngine(b, fanOut(1), false, opts...)
			ctx := context.Background()
			ids := make([]string, 1<<16)
			for i := range ids {
				ids[i] = fmt.Sprint("made-up-", i)
			}
			c := cpuTime()
			for i := 0; b.Loop(); i++ {
				if err := e.Track(ctx, event.Event{UserID: "u", Kind: event.EmailOpened, CampaignID: ids[i%len(ids)]}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64((cpuTime()-c).Nanoseconds())/float64(b.N), "cpu-ns/op")
			b.ReportMetric(float64(len(e.UnknownCampaigns())), "listed")
		})
	}
}
