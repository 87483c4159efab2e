package main

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/campaignconnector/campaignconnector/bench/internal/cputime"
	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
)

// campaigns: the abandoned-cart reminder, an hour after the push unless
// the user buys, which the measured events trigger; and a follow-up a
// month after a newsletter, which holds the preloaded pending deliveries
// (none falls due while the measured ones are sent).
func campaigns() []rule.Campaign {
	return []rule.Campaign{
		{ID: "abandoned_cart"},
		{ID: "cart_reminder", Triggers: []rule.Trigger{{Kind: event.PushReceived, CampaignID: "abandoned_cart"}},
			Delay: rule.After(time.Hour), Exceptions: []rule.Exception{{Kind: event.Purchase}},
			Message: []byte(`{"title":"Still thinking it over?"}`)},
		{ID: "newsletter"},
		{ID: "newsletter_resend", Triggers: []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "newsletter"}},
			Delay: rule.After(30 * 24 * time.Hour), Exceptions: []rule.Exception{{Kind: event.EmailOpened, CampaignID: "newsletter"}},
			Message: []byte(`{"subject":"In case you missed it"}`)},
	}
}

var start = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// run is one store under measurement with its engine, on a mock clock.
type run struct {
	subject string
	opened
	clk    *clock.Mock
	engine *connector.Engine
	sent   atomic.Int64
	round  int
}

func newRun(ctx context.Context, s subject) (*run, error) {
	o, err := s.open(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.name, err)
	}
	r := &run{subject: s.name, opened: o, clk: clock.NewMock()}
	r.clk.Set(start)
	send := connector.SenderFunc(func(context.Context, connector.Delivery) error {
		r.sent.Add(1)
		return nil
	})
	if r.engine, err = connector.New(o.store, send, connector.WithClock(r.clk)); err != nil {
		return nil, err
	}
	for _, c := range campaigns() {
		if err := r.engine.Save(ctx, c); err != nil {
			return nil, err
		}
		if err := r.engine.Publish(ctx, c.ID); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// preload schedules n deliveries, due in a month, with TrackAll.
func (r *run) preload(ctx context.Context, n int) (time.Duration, error) {
	began := time.Now()
	for i := 0; i < n; i += 1000 {
		evs := make([]event.Event, 0, 1000)
		for j := i; j < min(n, i+1000); j++ {
			evs = append(evs, event.Event{ID: fmt.Sprint("nl-", j), UserID: fmt.Sprint("p", j), Kind: event.EmailReceived,
				CampaignID: "newsletter", Properties: map[string]any{"plan": "pro"}})
		}
		if err := r.engine.TrackAll(ctx, evs); err != nil {
			return 0, err
		}
	}
	return time.Since(began), nil
}

// sample is one round's figures on one store: per second of elapsed
// time, and CPU microseconds per event or delivery (this process's and,
// for PostgreSQL, the server's: on a shared machine the elapsed time also
// counts the time others had the CPUs).
type sample struct {
	track, trackAll, deliveries          float64 // per second
	trackCPU, trackAllCPU, deliveriesCPU float64 // µs each
}

// cpuNow returns the CPU time used so far by this process and the store's
// server, if any.
func (r *run) cpuNow() time.Duration {
	d := cputime.Self()
	if r.cpu != nil {
		d += r.cpu()
	}
	return d
}

func perItem(d time.Duration, n int) float64 { return float64(d.Microseconds()) / float64(n) }

// measure runs one round: nTrack triggers with Track, nAll with TrackAll
// (1,000 a call), each scheduling a reminder an hour later, then moves
// the clock past the hour and ticks until every reminder is sent.
func (r *run) measure(ctx context.Context, nTrack, nAll int) (sample, error) {
	r.round++
	ev := func(i int) event.Event {
		id := fmt.Sprintf("r%d-%d", r.round, i)
		return event.Event{ID: id, UserID: "u" + id, Kind: event.PushReceived, CampaignID: "abandoned_cart",
			Properties: map[string]any{"cart": 3}}
	}
	var out sample
	began, cpu := time.Now(), r.cpuNow()
	for i := range nTrack {
		if err := r.engine.Track(ctx, ev(i)); err != nil {
			return out, err
		}
	}
	out.track, out.trackCPU = float64(nTrack)/time.Since(began).Seconds(), perItem(r.cpuNow()-cpu, nTrack)

	began, cpu = time.Now(), r.cpuNow()
	for i := 0; i < nAll; i += 1000 {
		evs := make([]event.Event, 0, 1000)
		for j := i; j < min(nAll, i+1000); j++ {
			evs = append(evs, ev(nTrack+j))
		}
		if err := r.engine.TrackAll(ctx, evs); err != nil {
			return out, err
		}
	}
	out.trackAll, out.trackAllCPU = float64(nAll)/time.Since(began).Seconds(), perItem(r.cpuNow()-cpu, nAll)

	r.clk.Add(time.Hour + time.Second)
	want := r.sent.Load() + int64(nTrack+nAll)
	began, cpu = time.Now(), r.cpuNow()
	for r.sent.Load() < want {
		n, err := r.engine.Tick(ctx)
		if err != nil {
			return out, err
		}
		if n == 0 {
			return out, fmt.Errorf("%s: a tick sent nothing with %d reminders left", r.subject, want-r.sent.Load())
		}
	}
	out.deliveries, out.deliveriesCPU = float64(nTrack+nAll)/time.Since(began).Seconds(), perItem(r.cpuNow()-cpu, nTrack+nAll)
	return out, nil
}
