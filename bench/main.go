// Command bench prints the performance table of BENCHMARKS.md: the engine
// on the memory store against two baselines measured in the same run —
// (a) the hand-written alternative (a mutex-protected map of
// time.AfterFunc timers per user and follow-up, stopped on exception) and
// (b) the floor (one map insert and one delete per event).
//
//	go run ./bench                 # the full table (several minutes)
//	go run ./bench -sizes 100000     # a smaller abandoned-cart run
//	go run ./bench -rounds 1         # each workload once (medians of five by default)
//	go run ./bench -workloads        # the abandoned-cart workloads only
//
// The same cases run as go test benchmarks: go test ./bench -bench . -benchmem
package main

import (
	"cmp"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"text/tabwriter"
	"time"
)

func main() {
	users := flag.Int("users", 1_000_000, "users in the memory case")
	sizes := flag.String("sizes", "200000,1000000", "users in the abandoned-cart workloads, comma-separated")
	rounds := flag.Int("rounds", 5, "runs of each abandoned-cart workload, taken in turn; the table shows medians")
	workloadsOnly := flag.Bool("workloads", false, "run the abandoned-cart workloads only")
	flag.Parse()
	testing.Init()

	fmt.Printf("campaignconnector benchmarks — %s, %s/%s, %d CPUs, %s\n\n",
		runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), time.Now().UTC().Format(time.RFC3339))
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight|tabwriter.Debug)
	fmt.Fprintln(w, "case\tns/op\tallocs/op\tmetric\tratio\t")

	row := func(name string, r testing.BenchmarkResult, metric string, ratio string) {
		fmt.Fprintf(w, "%s\t%.0f\t%d\t%s\t%s\t\n", name, nsPerOp(r), r.AllocsPerOp(), metric, ratio)
	}
	if !*workloadsOnly {
		micro(w, row, *users)
	}
	var ns []int
	for _, f := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 10 {
			fmt.Fprintf(os.Stderr, "bench: -sizes: %q is not a number of users (at least 10)\n", f)
			os.Exit(2)
		}
		ns = append(ns, n)
	}
	workloads(w, row, ns, *rounds)
	w.Flush()
}

// micro prints the micro-benchmarks' rows.
func micro(w io.Writer, row func(string, testing.BenchmarkResult, string, string), users int) {
	floorNS := nsPerOp(median(floorEvent))
	row("floor (b): map insert+delete", benchResult(floorNS), "", "1.00x")

	noListener := median(trackNoListener)
	row("Track, no listener", noListener, "", fmt.Sprintf("%.2fx floor", nsPerOp(noListener)/floorNS))
	trigger := median(trackTrigger)
	row("Track, trigger schedules", trigger, "", "")
	exception := median(trackException)
	row("Track, exception cancels", exception, "", "")
	duplicate := median(trackDuplicate)
	row("Track, duplicate event", duplicate, "", "")
	for _, c := range []struct {
		name   string
		serial testing.BenchmarkResult
		fn     func(*testing.B)
	}{
		{"Track, no listener, parallel", noListener, noListenerParallel},
		{"Track, trigger, parallel", trigger, triggerParallel},
		{"Track, exception, parallel", exception, exceptionParallel},
		{"Track, duplicate, parallel", duplicate, duplicateParallel},
	} {
		r := median(c.fn)
		row(c.name, r, "", fmt.Sprintf("%.2fx serial throughput", nsPerOp(c.serial)/nsPerOp(r)))
	}
	for _, due := range []int{1, 100, 10_000, 100_000} {
		r := testing.Benchmark(tickDue(due, 1))
		row(fmt.Sprintf("Tick, %d due, 1 worker", due), r, fmt.Sprintf("%.0f deliveries/s", r.Extra["deliveries/s"]), "")
	}
	r := testing.Benchmark(tickDue(100_000, 4))
	row("Tick, 100000 due, 4 workers", r, fmt.Sprintf("%.0f deliveries/s", r.Extra["deliveries/s"]), "")

	mem := testing.Benchmark(memoryPerPending(users))
	row(fmt.Sprintf("memory, %d pending", users), mem,
		fmt.Sprintf("%.0f B/pending (%.0f with IDs)", mem.Extra["B/pending"], mem.Extra["B/pending+ids"]), "")

	small := median(trackScaled(10, 0))
	var pendingSmall testing.BenchmarkResult
	for _, c := range []struct {
		name               string
		unrelated, pending int
	}{
		{"Track, 1000 follow-ups", 1000, 0},
		{"Track, 100000 follow-ups", 100_000, 0},
		{"Track, 1000 pending", 0, 1000},
		{"Track, 1000000 pending/users", 0, 1_000_000},
	} {
		r := median(trackScaled(c.unrelated, c.pending))
		row(c.name, r, "", fmt.Sprintf("%.2fx 10 follow-ups", nsPerOp(r)/nsPerOp(small)))
		if c.pending == 1000 {
			pendingSmall = r
		}
	}
	row("Track, 10 follow-ups", small, "", "1.00x")
	// The same axis with the events handed over in batches (TrackAll).
	batchSmall := median(trackScaledBatch(0, 1000, trackAllBatch))
	batchLarge := median(trackScaledBatch(0, 1_000_000, trackAllBatch))
	row("TrackAll, 1000 pending", batchSmall, "", fmt.Sprintf("%.2fx Track, 1000 pending", nsPerOp(batchSmall)/nsPerOp(pendingSmall)))
	row("TrackAll, 1000000 pending/users", batchLarge, "", fmt.Sprintf("%.2fx TrackAll, 1000 pending", nsPerOp(batchLarge)/nsPerOp(batchSmall)))
	timersSmall := median(timersScaled(1000))
	timersLarge := median(timersScaled(1_000_000))
	row("timers (a), 1000 pending", timersSmall, "", "1.00x")
	row("timers (a), 1000000 pending", timersLarge, "", fmt.Sprintf("%.2fx 1000 pending", nsPerOp(timersLarge)/nsPerOp(timersSmall)))

	// One user holding many pending deliveries: the cost of one of that
	// user's updates must grow with the user's state, no faster.
	for _, c := range []struct {
		name string
		fn   func(int) func(*testing.B)
		unit string
	}{{"Track", oneUserTrack, "cpu-ns/op"}, {"send all", oneUserSend, "cpu-ns/delivery"}} {
		var base float64
		for _, n := range []int{100, 1000, 10_000} {
			r := median(c.fn(n))
			v := r.Extra[c.unit]
			if n == 100 {
				base = v
			}
			row(fmt.Sprintf("one user, %d pending, %s", n, c.name), r, fmt.Sprintf("%.0f CPU ns per event or delivery", v), fmt.Sprintf("%.1fx 100 pending", v/base))
		}
	}

	// The engine's own work per event, everything in the caches, against
	// baseline (a)'s: what the workload's ratio is made of besides misses.
	pair, pairTimers := median(pairInCache), median(pairInCacheTimers)
	row("trigger+exception, 1024 users, engine", pair, "", "")
	row("trigger+exception, 1024 users, timers (a)", pairTimers, "", fmt.Sprintf("engine %.2fx slower", nsPerOp(pair)/nsPerOp(pairTimers)))

}

// workloads prints the abandoned-cart rows and the ratios, for each size.
func workloads(w io.Writer, row func(string, testing.BenchmarkResult, string, string), sizes []int, rounds int) {
	for _, n := range sizes {
		fmt.Fprintf(w, "abandoned cart, %d users\t\t\t\t\t\n", n)
		workloadsAt(w, row, n, rounds)
	}
}

// workloadsAt prints the abandoned-cart rows and ratios for n users.
func workloadsAt(w io.Writer, row func(string, testing.BenchmarkResult, string, string), n, rounds int) {
	// A first run in a fresh process pays for the heap the runtime maps
	// from the kernel; the runs after it reuse that heap. A discarded
	// warm-up puts every measured run on the same footing. Then the
	// workloads run in turn, round after round, and each figure is the
	// median of its runs (the spread follows it in brackets): on a shared
	// machine, two runs of the same code minutes apart can differ by half.
	testing.Benchmark(abandonedCartEngine(n, 0, true))
	cases := []struct {
		name string
		fn   func(*testing.B)
		runs []testing.BenchmarkResult
	}{
		{name: "engine", fn: abandonedCartEngine(n, 0, true)},
		{name: "engine, TrackAll", fn: abandonedCartEngine(n, trackAllBatch, true)},
		{name: "timers (a), called", fn: abandonedCartTimers(n)},
		{name: "timers (a), fired", fn: abandonedCartTimersFired(n)},
		{name: "engine, no event IDs", fn: abandonedCartEngine(n, 0, false)},
		{name: "events built, not tracked", fn: buildEvents(n)},
		{name: "noise: fixed loop", fn: calibrate},
	}
	failed := 0
	for range rounds {
		var round []testing.BenchmarkResult
		for i := range cases {
			round = append(round, testing.Benchmark(cases[i].fn))
		}
		// A run that failed (a benchmark's Fatal: N is 0) drops its round
		// from every case, so that each ratio still pairs runs of one round.
		if slices.ContainsFunc(round, func(r testing.BenchmarkResult) bool { return r.N == 0 }) {
			failed++
			continue
		}
		for i := range cases {
			cases[i].runs = append(cases[i].runs, round[i])
		}
	}
	if failed > 0 {
		fmt.Fprintf(w, "%d of %d rounds dropped: a run failed\t\t\t\t\t\n", failed, rounds)
	}
	if failed == rounds {
		return
	}
	for _, c := range cases[:len(cases)-2] {
		row("abandoned cart, "+c.name, medianOf(c.runs, nsPerOp),
			fmt.Sprintf("%s events/s, %s deliveries/s, %s end to end, %s B/pending",
				spread(c.runs, "events/s"), spread(c.runs, "deliveries/s"), spread(c.runs, "e2e-events/s"), spread(c.runs, "B/pending")), "")
	}
	built := cases[len(cases)-2]
	row("abandoned cart, "+built.name, medianOf(built.runs, nsPerOp), spread(built.runs, "events/s")+" events/s, "+spread(built.runs, "events/cpu-s")+" per CPU second", "")
	noise := cases[len(cases)-1]
	row(noise.name, medianOf(noise.runs, nsPerOp), "ns/op "+spreadNS(noise.runs)+" over the rounds", "")
	// The ratios pair each engine run with the baseline's run of the same
	// round (taken right after it), so that the machine's slow minutes
	// weigh on both sides of each ratio; the median ratio of the rounds
	// follows, with their range and how many rounds the engine won.
	for _, e := range []int{0, 1, 4} {
		for _, c := range cases[2:4] {
			fmt.Fprintf(w, "%s / %s\t\t\t%s events/s, %s deliveries/s, %s end to end, %s memory\t\t\n", cases[e].name, c.name,
				pairedRatio(cases[e].runs, c.runs, "events/s", false), pairedRatio(cases[e].runs, c.runs, "deliveries/s", false),
				pairedRatio(cases[e].runs, c.runs, "e2e-events/s", false), pairedRatio(cases[e].runs, c.runs, "B/pending", true))
			fmt.Fprintf(w, "%s / %s, per CPU second\t\t\t%s events, %s deliveries, %s end to end\t\t\n", cases[e].name, c.name,
				pairedRatio(cases[e].runs, c.runs, "events/cpu-s", false), pairedRatio(cases[e].runs, c.runs, "deliveries/cpu-s", false),
				pairedRatio(cases[e].runs, c.runs, "e2e-events/cpu-s", false))
		}
	}
	// Both sides' tracking time includes building the events (the host's
	// decoding); the same ratio net of it, per round, is each scheduler's
	// own work.
	for _, e := range []int{0, 1} {
		for _, c := range cases[2:4] {
			fmt.Fprintf(w, "%s / %s, net of building the events\t\t\t%s events/s, %s events per CPU second\t\t\n", cases[e].name, c.name,
				pairedRatio(net(cases[e].runs, built.runs, "events/s"), net(c.runs, built.runs, "events/s"), "events/s", false),
				pairedRatio(net(cases[e].runs, built.runs, "events/cpu-s"), net(c.runs, built.runs, "events/cpu-s"), "events/cpu-s", false))
		}
	}
}

// net returns runs with their metric (events per second or per CPU
// second) recomputed without the time building the events took in the
// same round (built's metric).
func net(runs, built []testing.BenchmarkResult, metric string) []testing.BenchmarkResult {
	out := make([]testing.BenchmarkResult, min(len(runs), len(built)))
	for i := range out {
		perEvent := 1/runs[i].Extra[metric] - 1/built[i].Extra[metric]
		out[i] = testing.BenchmarkResult{Extra: map[string]float64{metric: 1 / perEvent}}
	}
	return out
}

// calibrate is a fixed amount of work (hashing in a loop, nothing
// allocated): its spread over the rounds is the machine's noise.
func calibrate(b *testing.B) {
	var h uint64
	for b.Loop() {
		for i := range uint64(1 << 20) {
			h = (h ^ i) * 0x9e3779b97f4a7c15
		}
	}
	runtime.KeepAlive(h)
}

// spreadNS formats the median ns/op among runs and its range.
func spreadNS(runs []testing.BenchmarkResult) string {
	ns := make([]float64, len(runs))
	for i, r := range runs {
		ns[i] = nsPerOp(r)
	}
	slices.Sort(ns)
	return fmt.Sprintf("%.0f [%.0f–%.0f, %+.0f %%]", ns[len(ns)/2], ns[0], ns[len(ns)-1], 100*(ns[len(ns)-1]-ns[0])/ns[len(ns)/2])
}

// pairedRatio formats the median over rounds of a's metric over b's in
// the same round, with the range and, for several rounds, how many of
// them a won (lower is better when less is set). A round whose metric is
// not positive on either side (a heap that shrank over a small run) is
// left out, and the output says how many were measured; with none left
// it gives "-".
func pairedRatio(a, b []testing.BenchmarkResult, metric string, less bool) string {
	var ratios []float64
	won, rounds := 0, min(len(a), len(b))
	for i := range rounds {
		x, y := a[i].Extra[metric], b[i].Extra[metric]
		if x <= 0 || y <= 0 {
			continue // not measured: a heap that shrank over a small run
		}
		r := x / y
		ratios = append(ratios, r)
		if (r >= 1) != less || r == 1 {
			won++
		}
	}
	if len(ratios) == 0 {
		return "-"
	}
	slices.Sort(ratios)
	m := fmt.Sprintf("%.2fx", ratios[len(ratios)/2])
	if len(ratios) >= 2 {
		m = fmt.Sprintf("%s [%.2f–%.2f, %d/%d]", m, ratios[0], ratios[len(ratios)-1], won, len(ratios))
	}
	if len(ratios) < rounds {
		m += fmt.Sprintf(" (%d of %d rounds measured)", len(ratios), rounds)
	}
	return m
}

// median runs a benchmark three times and returns the run with the median
// ns/op: a shared two-core machine now and then halves one run's speed.
func median(fn func(*testing.B)) testing.BenchmarkResult {
	return medianOf([]testing.BenchmarkResult{testing.Benchmark(fn), testing.Benchmark(fn), testing.Benchmark(fn)}, nsPerOp)
}

// medianOf returns the run with the median value of key among runs.
func medianOf(runs []testing.BenchmarkResult, key func(testing.BenchmarkResult) float64) testing.BenchmarkResult {
	rs := slices.Clone(runs)
	slices.SortFunc(rs, func(a, b testing.BenchmarkResult) int { return cmp.Compare(key(a), key(b)) })
	return rs[len(rs)/2]
}

// extra returns the median of a reported metric among runs.
func extra(runs []testing.BenchmarkResult, metric string) float64 {
	return medianOf(runs, func(r testing.BenchmarkResult) float64 { return r.Extra[metric] }).Extra[metric]
}

// spread formats a metric's median and, with several runs, its range.
func spread(runs []testing.BenchmarkResult, metric string) string {
	m := fmt.Sprintf("%.0f", extra(runs, metric))
	if len(runs) < 2 {
		return m
	}
	lo, hi := runs[0].Extra[metric], runs[0].Extra[metric]
	for _, r := range runs[1:] {
		lo, hi = min(lo, r.Extra[metric]), max(hi, r.Extra[metric])
	}
	return fmt.Sprintf("%s [%.0f–%.0f]", m, lo, hi)
}

func nsPerOp(r testing.BenchmarkResult) float64 {
	if r.N == 0 {
		return 0
	}
	return float64(r.T.Nanoseconds()) / float64(r.N)
}

// benchResult wraps a ns/op figure for the table.
func benchResult(ns float64) testing.BenchmarkResult {
	return testing.BenchmarkResult{N: 1, T: time.Duration(ns)}
}
