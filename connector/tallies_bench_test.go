package connector_test

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
)

// BenchmarkTallyCost measures what counting decisions costs, on the
// abandoned-cart flow. Each case runs two engines side by side, one with
// tallies (the default on the memory store) and one without
// (WithoutTallies), taking turns every batch of operations (the order
// alternating from batch to batch), so that the machine's slow moments
// weigh on both alike; each sub-benchmark reports the ns/op of the median
// batch of both and their ratio. The rounds repeat that; the last line
// gives, per case, the median of the rounds' ratios and their range:
//
//	go test ./connector -run '^$' -bench TallyCost -benchmem -benchtime 0.3s -timeout 0
//
// The cases, one op each: a trigger that schedules then an exception that
// cancels, for users taken in turn from 1,024 (everything stays in the
// caches: the engine's own work); a trigger that schedules; an exception
// that cancels (what puts the user back is not measured, for these two);
// a delivery sent by Tick (concurrency 1, 256 due at once); and the whole
// workload per 500 users (pushed, 40 % buy and 20 % open the push during
// the wait, then the reminders and coupons sent). allocs/op counts both
// engines' allocations and what readies their batches.
func BenchmarkTallyCost(b *testing.B) {
	const rounds = 9
	cases := []struct {
		name string
		new  func(b *testing.B, opts ...connector.Option) tallyBenchCase
	}{
		{"pair", newTallyPair},
		{"trigger", newTallyTrigger},
		{"exception", newTallyException},
		{"tick", newTallyTick},
		{"workload", newTallyWorkload},
	}
	ratios := map[string][]float64{}
	for round := range rounds {
		for _, c := range cases {
			b.Run(fmt.Sprintf("%s/round=%d", c.name, round), func(b *testing.B) {
				variants := [2]tallyBenchCase{c.new(b, connector.WithoutTallies()), c.new(b)}
				var perOp [2][]float64 // ns per op of each batch
				b.ReportAllocs()
				for i := 0; b.Loop(); i++ {
					for k := range 2 {
						v := (i + k) & 1
						n, d := variants[v].batch(b)
						perOp[v] = append(perOp[v], float64(d)/float64(n))
					}
				}
				// The median batch: a batch the machine preempted (for
				// milliseconds, on a shared machine) weighs no more than
				// one that ran alone.
				without, with := median(perOp[0]), median(perOp[1])
				b.ReportMetric(without, "ns/op-without")
				b.ReportMetric(with, "ns/op-with")
				b.ReportMetric(with/without, "ratio")
				ratios[c.name] = append(ratios[c.name][:round], with/without)
			})
		}
	}
	var lines []string
	for _, c := range cases {
		rs := slices.Clone(ratios[c.name])
		if len(rs) < rounds {
			continue // filtered out by -bench
		}
		slices.Sort(rs)
		lines = append(lines, fmt.Sprintf("%s %.3fx [%.3f–%.3f]", c.name, rs[rounds/2], rs[0], rs[rounds-1]))
	}
	if len(lines) > 0 {
		fmt.Printf("BenchmarkTallyCost: with tallies / without, ns/op, median [range] of %d rounds: %s\n", rounds, strings.Join(lines, "; "))
	}
}

func median(xs []float64) float64 {
	xs = slices.Clone(xs)
	slices.Sort(xs)
	return xs[len(xs)/2]
}

// tallyBenchCase is one engine of a case: batch runs a batch of its
// operations and returns how many and the time they took (what readies
// them is not timed).
type tallyBenchCase interface {
	batch(b *testing.B) (int, time.Duration)
}

const tallyBatch = 16

// tallyPair tracks a trigger that schedules the reminder, then a purchase
// that cancels it, for users taken in turn from 1,024.
type tallyPair struct {
	e        *connector.Engine
	users    []string
	rcv, buy event.Event
	next     int
}

func newTallyPair(b *testing.B, opts ...connector.Option) tallyBenchCase {
	e, clk, _ := benchEngine(b, 0, opts...)
	return &tallyPair{e: e, users: userIDs(1 << 10),
		rcv: event.Event{Kind: event.PushReceived, CampaignID: "abandoned_cart"},
		buy: event.Event{Kind: event.Purchase, Time: clk.Now().Add(time.Microsecond)}}
}

func (p *tallyPair) batch(b *testing.B) (int, time.Duration) {
	ctx := context.Background()
	start := time.Now()
	for range tallyBatch {
		u := p.users[p.next&(len(p.users)-1)]
		p.next++
		p.rcv.UserID, p.buy.UserID = u, u
		if err := p.e.Track(ctx, p.rcv); err != nil {
			b.Fatal(err)
		}
		if err := p.e.Track(ctx, p.buy); err != nil {
			b.Fatal(err)
		}
	}
	return tallyBatch, time.Since(start)
}

// tallyArm times triggers that schedule (arm) or exceptions that cancel
// (!arm), the other events, which put the users back, untimed.
type tallyArm struct {
	tallyPair
	arm bool
}

func newTallyTrigger(b *testing.B, opts ...connector.Option) tallyBenchCase {
	return &tallyArm{*newTallyPair(b, opts...).(*tallyPair), true}
}

func newTallyException(b *testing.B, opts ...connector.Option) tallyBenchCase {
	return &tallyArm{*newTallyPair(b, opts...).(*tallyPair), false}
}

func (p *tallyArm) batch(b *testing.B) (int, time.Duration) {
	ctx := context.Background()
	users := make([]string, tallyBatch)
	for k := range users {
		users[k] = p.users[p.next&(len(p.users)-1)]
		p.next++
	}
	track := func(ev event.Event) {
		for _, u := range users {
			ev.UserID = u
			if err := p.e.Track(ctx, ev); err != nil {
				b.Fatal(err)
			}
		}
	}
	var took time.Duration
	for _, ev := range []event.Event{p.rcv, p.buy} {
		start := time.Now()
		track(ev)
		if timed := ev.Kind == p.rcv.Kind; timed == p.arm {
			took = time.Since(start)
		}
	}
	return tallyBatch, took
}

// tallyTick sends 256 due coupons with one Tick.
type tallyTick struct {
	e     *connector.Engine
	users []string
}

func newTallyTick(b *testing.B, opts ...connector.Option) tallyBenchCase {
	e, _ := benchEngineOn(b, clock.New(), 0, append([]connector.Option{connector.WithSendConcurrency(1)}, opts...)...)
	return &tallyTick{e: e, users: userIDs(256)}
}

func (t *tallyTick) batch(b *testing.B) (int, time.Duration) {
	ctx := context.Background()
	for _, u := range t.users {
		if err := t.e.Track(ctx, event.Event{UserID: u, Kind: event.PushOpened, CampaignID: "abandoned_cart"}); err != nil {
			b.Fatal(err)
		}
	}
	start := time.Now()
	n, err := t.e.Tick(ctx)
	took := time.Since(start)
	if err != nil || n != len(t.users) {
		b.Fatal(n, err)
	}
	return n, took
}

// tallyWorkload runs the abandoned-cart flow for 500 users on a fresh
// engine; an op is a user.
type tallyWorkload struct {
	opts  []connector.Option
	users []string
}

func newTallyWorkload(b *testing.B, opts ...connector.Option) tallyBenchCase {
	return &tallyWorkload{opts: append([]connector.Option{connector.WithSendConcurrency(1)}, opts...), users: userIDs(500)}
}

func (w *tallyWorkload) batch(b *testing.B) (int, time.Duration) {
	ctx := context.Background()
	e, clk, _ := benchEngine(b, 0, w.opts...)
	runtime.GC()
	start := time.Now()
	for _, u := range w.users {
		if err := e.Track(ctx, event.Event{UserID: u, Kind: event.PushReceived, CampaignID: "abandoned_cart"}); err != nil {
			b.Fatal(err)
		}
	}
	clk.Add(time.Hour)
	for i, u := range w.users {
		var err error
		switch i % 10 {
		case 0, 1, 2, 3:
			err = e.Track(ctx, event.Event{UserID: u, Kind: event.Purchase, Name: "sku"})
		case 4, 5:
			err = e.Track(ctx, event.Event{UserID: u, Kind: event.PushOpened, CampaignID: "abandoned_cart"})
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	clk.Add(24 * time.Hour)
	sent := 0
	for {
		k, err := e.Tick(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if sent += k; k == 0 {
			break
		}
	}
	took := time.Since(start)
	n := len(w.users)
	if want := n - n*6/10 + n*2/10; sent != want {
		b.Fatalf("sent %d, want %d", sent, want)
	}
	return n, took
}
