package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"text/tabwriter"
	"time"

	"github.com/campaignconnector/campaignconnector/bench/internal/summary"

	"github.com/campaignconnector/campaignconnector/bench/internal/ids"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/jackc/pgx/v5/pgxpool"
)

// scaleRun is one engine under measurement at one size: its schema holds
// size pending deliveries from users with remembered event IDs, due in a
// month, besides what the rounds add.
type scaleRun struct {
	size    int
	e       *engine
	drop    func()
	round   int
	preload time.Duration
	track   []per // Track, one by one
	all     []per // TrackAll, 1,000 a call
	deliver []per // Tick
}

// measureScale preloads an engine per size, then runs the rounds, the
// sizes in turn, and prints each size's figures and the largest size's
// against the smallest's, round by round.
func measureScale(ctx context.Context, pool *pgxpool.Pool, sizes []int, rounds, nTrack, nAll int) error {
	runs := make([]*scaleRun, len(sizes))
	defer func() {
		for _, r := range runs {
			if r != nil {
				r.e.store.Close()
				r.drop()
			}
		}
	}()
	for i, size := range sizes {
		schema, drop, err := newSchema(ctx, pool)
		if err != nil {
			return err
		}
		e, err := newEngine(ctx, pool, schema)
		if err != nil {
			drop()
			return err
		}
		r := &scaleRun{size: size, e: e, drop: drop}
		runs[i] = r
		began := time.Now()
		if err := r.load(ctx); err != nil {
			return fmt.Errorf("preloading %d: %w", size, err)
		}
		r.preload = time.Since(began)
		fmt.Fprintf(os.Stderr, "%d pending preloaded in %v\n", size, r.preload.Round(time.Millisecond))
	}
	for round := 1; round <= rounds; round++ {
		for _, r := range runs {
			if err := r.measure(ctx, nTrack, nAll); err != nil {
				return fmt.Errorf("%d pending, round %d: %w", r.size, round, err)
			}
			last := len(r.track) - 1
			fmt.Fprintf(os.Stderr, "%d pending, round %d: Track %.0f µs (%.0f µs CPU), TrackAll %.0f events/s, Tick %.0f deliveries/s (%.0f µs CPU)\n",
				r.size, round, 1e6/r.track[last].rate, r.track[last].cpuUS(), r.all[last].rate, r.deliver[last].rate, r.deliver[last].cpuUS())
		}
	}
	fmt.Printf("Track and Tick with deliveries pending (%d rounds: each %d events with Track, %d with TrackAll, then their deliveries; medians [range])\n\n",
		rounds, nTrack, nAll)
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight|tabwriter.Debug)
	fmt.Fprintln(tw, "pending\tTrack µs/event\tTrack CPU µs/event\tTrackAll events/s\tTick deliveries/s\tTick CPU µs/delivery\tpreload events/s\t")
	latency := func(xs []per) []float64 { return pick(xs, func(x per) float64 { return 1e6 / x.rate }) }
	for _, r := range runs {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%.0f\t\n", r.size, summary.Spread(latency(r.track)), summary.Spread1(pick(r.track, cpu)),
			summary.Spread(pick(r.all, rate)), summary.Spread(pick(r.deliver, rate)), summary.Spread1(pick(r.deliver, cpu)), float64(r.size)/r.preload.Seconds())
	}
	if len(runs) > 1 {
		small, large := runs[0], runs[len(runs)-1]
		fmt.Fprintf(tw, "%d / %d\t%s\t%s\t%s\t%s\t%s\t\t\n", large.size, small.size,
			summary.Ratio(latency(large.track), latency(small.track)), summary.Ratio(pick(large.track, cpu), pick(small.track, cpu)),
			summary.Ratio(pick(small.all, rate), pick(large.all, rate)), summary.Ratio(pick(small.deliver, rate), pick(large.deliver, rate)),
			summary.Ratio(pick(large.deliver, cpu), pick(small.deliver, cpu)))
	}
	tw.Flush()
	fmt.Println()
	fmt.Println("Ratios are the largest size's cost over the smallest's (latency and CPU per item; throughputs inverted): 1.30x means 30 % slower.")
	fmt.Println()
	return nil
}

// load schedules r.size deliveries due in a month with TrackAll, each from
// an event with an ID, for as many users.
func (r *scaleRun) load(ctx context.Context) error {
	users := ids.Users(fmt.Sprint("newsletter-", r.size), r.size)
	src := source{}
	for i := 0; i < r.size; i += batchSize {
		evs := make([]event.Event, 0, batchSize)
		for _, u := range users[i:min(r.size, i+batchSize)] {
			ev := src.event(u, event.EmailReceived, "newsletter")
			ev.Properties = map[string]any{"list": "weekly", "plan": "pro"}
			evs = append(evs, ev)
		}
		if err := r.e.TrackAll(ctx, evs); err != nil {
			return err
		}
	}
	return nil
}

// measure runs one round: nTrack triggers with Track, nAll with TrackAll,
// each scheduling a reminder an hour later for a user of its own, then
// moves the clock past the hour and ticks until every reminder is sent.
func (r *scaleRun) measure(ctx context.Context, nTrack, nAll int) error {
	r.round++
	users := ids.Users(fmt.Sprint("cart-", r.size, "-", r.round), nTrack+nAll)
	src := source{}
	runtime.GC()
	var c cost
	c.begin()
	for _, u := range users[:nTrack] {
		if err := r.e.Track(ctx, src.trigger(u)); err != nil {
			return err
		}
	}
	c.end()
	r.track = append(r.track, c.per(nTrack))

	c.begin()
	for i := nTrack; i < len(users); i += batchSize {
		evs := make([]event.Event, 0, batchSize)
		for _, u := range users[i:min(len(users), i+batchSize)] {
			evs = append(evs, src.trigger(u))
		}
		if err := r.e.TrackAll(ctx, evs); err != nil {
			return err
		}
	}
	c.end()
	r.all = append(r.all, c.per(nAll))

	r.e.clk.Add(time.Hour + time.Second)
	runtime.GC()
	c.begin()
	err := r.e.drain(ctx, r.e.sent.Load()+int64(nTrack+nAll))
	c.end()
	r.deliver = append(r.deliver, c.per(nTrack+nAll))
	return err
}
