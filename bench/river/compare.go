package main

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"slices"
	"text/tabwriter"

	"github.com/campaignconnector/campaignconnector/bench/internal/summary"

	"github.com/jackc/pgx/v5/pgxpool"
)

// batchSize is how many events the batched cases hand over at once.
const batchSize = 1000

// side is one way of running the workload.
type side struct {
	name string
	run  func(ctx context.Context, pool *pgxpool.Pool, w workload) (phases, error)
	// samples: one per round
	track, deliver []per
}

// pair is River's case and the engine's cases it is compared with.
type pair struct {
	trackers int
	ours     []*side
	theirs   *side
}

// sides returns the pair's cases, River's last.
func (p pair) sides() []*side {
	out := slices.Clone(p.ours)
	if p.theirs != nil {
		out = append(out, p.theirs)
	}
	return out
}

func cases(trackers []int, noIDs bool) []pair {
	ours := func(name string, batch int, src source) *side {
		return &side{name: name, run: func(ctx context.Context, pool *pgxpool.Pool, w workload) (phases, error) {
			return connectorRun(ctx, pool, w, batch, src)
		}}
	}
	theirs := func(name string, batch int) *side {
		return &side{name: name, run: func(ctx context.Context, pool *pgxpool.Pool, w workload) (phases, error) {
			return riverRun(ctx, pool, w, batch)
		}}
	}
	var out []pair
	add := func(t int, name string, batch int, riverName string) {
		p := pair{trackers: t, ours: []*side{ours("campaignconnector, "+name, batch, source{})}, theirs: theirs("River, "+riverName, batch)}
		if noIDs {
			p.ours = append(p.ours, ours("campaignconnector, "+name+", no event IDs", batch, source{noIDs: true}))
		}
		out = append(out, p)
	}
	for _, t := range trackers {
		add(t, "Track", 0, "Insert")
	}
	add(1, "TrackAll (1,000 a call)", batchSize, "InsertMany (1,000 a call)")
	return out
}

// compare runs a warm-up round at a tenth of the users, then rounds of
// every case in turn (River's case first in every other round), and
// prints the table.
func compare(ctx context.Context, pool *pgxpool.Pool, users int, trackers []int, rounds int, noIDs bool, only string) error {
	pairs := cases(trackers, noIDs)
	if only != "" {
		re, err := regexp.Compile(only)
		if err != nil {
			return fmt.Errorf("-cases: %w", err)
		}
		pairs = filterCases(pairs, re)
	}
	runOne := func(s *side, w workload, keep bool, round int) error {
		p, err := s.run(ctx, pool, w)
		if err != nil {
			return fmt.Errorf("%s, %d trackers: %w", s.name, w.trackers, err)
		}
		if p.events != w.events() || p.delivers != w.deliveries() {
			return fmt.Errorf("%s: %d events, %d deliveries; want %d, %d", s.name, p.events, p.delivers, w.events(), w.deliveries())
		}
		t, d := p.track.per(p.events), p.deliver.per(p.delivers)
		label := fmt.Sprint("round ", round)
		if !keep {
			label = "warm-up (not counted)"
		}
		fmt.Fprintf(os.Stderr, "%s, %s, %d trackers: %.0f events/s (%.0f µs CPU), %.0f deliveries/s (%.0f µs CPU)\n",
			label, s.name, w.trackers, t.rate, t.cpuUS(), d.rate, d.cpuUS())
		if keep {
			s.track, s.deliver = append(s.track, t), append(s.deliver, d)
		}
		return nil
	}
	for round := 0; round <= rounds; round++ {
		n := users
		if round == 0 {
			n = max(100, users/10) // warm-up
		}
		for _, p := range pairs {
			w := workload{users: n, trackers: p.trackers}
			order := p.sides()
			if round%2 == 0 {
				order = append(order[len(p.ours):], order[:len(p.ours)]...)
			}
			for _, s := range order {
				if err := runOne(s, w, round > 0, round); err != nil {
					return err
				}
			}
		}
	}
	printCompare(pairs, users, rounds)
	return nil
}

// filterCases keeps the sides whose name re matches, and the pairs with
// any left.
func filterCases(pairs []pair, re *regexp.Regexp) []pair {
	var out []pair
	for _, p := range pairs {
		p.ours = slices.DeleteFunc(p.ours, func(s *side) bool { return !re.MatchString(s.name) })
		if !re.MatchString(p.theirs.name) {
			p.theirs = nil
		}
		if len(p.ours) > 0 || p.theirs != nil {
			out = append(out, p)
		}
	}
	return out
}

func printCompare(pairs []pair, users, rounds int) {
	w := workload{users: users}
	fmt.Printf("Abandoned cart, %d users: %d events, %d deliveries; %d rounds (medians [range])\n\n", users, w.events(), w.deliveries(), rounds)
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight|tabwriter.Debug)
	fmt.Fprintln(tw, "trackers\tcase\tevents/s\tdeliveries/s\tCPU µs/event\tCPU µs/delivery\tround trips/event\tstatements/event\tround trips/delivery\tstatements/delivery\tallocs/event\tallocs/delivery\t")
	for _, p := range pairs {
		for _, s := range p.sides() {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%.3f\t%.2f\t%.3f\t%.2f\t%.0f\t%.0f\t\n", p.trackers, s.name,
				summary.Spread(pick(s.track, rate)), summary.Spread(pick(s.deliver, rate)),
				cpuSpread(s.track), cpuSpread(s.deliver),
				summary.Median(pick(s.track, func(x per) float64 { return x.roundTrips })), summary.Median(pick(s.track, func(x per) float64 { return x.statements })),
				summary.Median(pick(s.deliver, func(x per) float64 { return x.roundTrips })), summary.Median(pick(s.deliver, func(x per) float64 { return x.statements })),
				summary.Median(pick(s.track, func(x per) float64 { return x.allocs })), summary.Median(pick(s.deliver, func(x per) float64 { return x.allocs })))
		}
		for _, s := range p.ours {
			if p.theirs == nil {
				break
			}
			fmt.Fprintf(tw, "%d\t%s / %s\t%s\t%s\t%s\t%s\t\t\t\t\t\t\t\n", p.trackers, short(s.name), short(p.theirs.name),
				summary.Ratio(pick(s.track, rate), pick(p.theirs.track, rate)), summary.Ratio(pick(s.deliver, rate), pick(p.theirs.deliver, rate)),
				summary.Ratio(pick(p.theirs.track, cpu), pick(s.track, cpu)), summary.Ratio(pick(p.theirs.deliver, cpu), pick(s.deliver, cpu)))
		}
	}
	tw.Flush()
	fmt.Println()
	fmt.Println("CPU µs: this process's + the server's (the latter 0 without -pgdata). CPU ratios are River's CPU over the engine's: above 1, the engine spends less.")
	fmt.Println()
}

// short drops the side's leading name: "Track" for "campaignconnector, Track".
func short(name string) string {
	for i := range len(name) - 1 {
		if name[i] == ',' && name[i+1] == ' ' {
			return name[i+2:]
		}
	}
	return name
}

func rate(x per) float64 { return x.rate }
func cpu(x per) float64  { return x.cpuUS() }

func pick(xs []per, f func(per) float64) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = f(x)
	}
	return out
}

func cpuSpread(xs []per) string {
	return fmt.Sprintf("%s (%.1f+%.1f)", summary.Spread1(pick(xs, cpu)),
		summary.Median(pick(xs, func(x per) float64 { return x.selfUS })), summary.Median(pick(xs, func(x per) float64 { return x.serverUS })))
}
