// Command sqlitebench measures the engine on the SQLite store against the
// memory store and the PostgreSQL store, in one run: Track and TrackAll
// events/s, deliveries/s and bytes per pending delivery, with 10,000 and
// 1,000,000 deliveries pending. It is a module of its own (like
// bench/river, never published), so that the SQLite module needs no
// PostgreSQL driver.
//
//	source .ci/postgres.sh start                 # from the repository root
//	go run ./bench/sqlite                        # the table (about 15 minutes)
//	go run ./bench/sqlite -sizes 10000 -rounds 1
//	go run ./bench/sqlite -pgdata "$PGDIR"       # count the server's CPU time too (Linux; PGDIR as in BENCHMARKS.md)
//	go run ./bench/sqlite -prune                 # the file's size under steady traffic
//
// Without CAMPAIGNCONNECTOR_POSTGRES_DSN (or -dsn) the PostgreSQL column
// is left out.
//
// For each size, every store is opened fresh and preloaded with that many
// pending deliveries (due in a month, each from an event with an ID);
// then rounds run in turn on each store: a few thousand triggers tracked
// one by one with Track, then more with TrackAll (1,000 a call), each
// scheduling a reminder an hour later; then the clock moves past the hour
// and Tick sends every reminder (the engine's defaults: 4 workers,
// batches of 256, a no-op sender). Figures are medians of the rounds with
// their range; ratios are taken round by round.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/campaignconnector/campaignconnector/bench/internal/summary"

	"github.com/campaignconnector/campaignconnector/bench/internal/cputime"
	"github.com/campaignconnector/campaignconnector/store/sqlite"
)

func main() {
	sizes := flag.String("sizes", "10000,1000000", "pending deliveries preloaded, comma-separated")
	rounds := flag.Int("rounds", 3, "measured rounds per store and size")
	nTrack := flag.Int("track", 3000, "events tracked with Track per round")
	nAll := flag.Int("trackall", 20000, "events tracked with TrackAll per round")
	dsn := flag.String("dsn", os.Getenv("CAMPAIGNCONNECTOR_POSTGRES_DSN"), "PostgreSQL DSN; empty: leave PostgreSQL out")
	full := flag.Bool("full", false, "also measure SQLite with synchronous FULL")
	prune := flag.Bool("prune", false, "measure the SQLite file under steady traffic instead")
	events := flag.Int("events", 1_000_000, "with -prune: unique events tracked")
	dir := flag.String("dir", os.TempDir(), "where the SQLite files go")
	pgData := flag.String("pgdata", "", "the PostgreSQL server's data directory, to count its CPU time (a server of the benchmark's own)")
	flag.Parse()
	if *pgData != "" {
		if *dsn == "" {
			fail(fmt.Errorf("-pgdata without a database: set CAMPAIGNCONNECTOR_POSTGRES_DSN or -dsn"))
		}
		if err := cputime.CheckServer(*pgData); err != nil {
			fail(err)
		}
	}
	ctx := context.Background()
	fmt.Printf("campaignconnector store benchmarks — %s, %s/%s, %d CPUs, %s\n\n",
		runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), time.Now().UTC().Format(time.RFC3339))
	if *prune {
		if err := measurePrune(ctx, *dir, *events); err != nil {
			fail(err)
		}
		return
	}
	subjects := []subject{memorySubject(), sqliteSubject(*dir, sqlite.SynchronousNormal)}
	if *full {
		subjects = append(subjects, sqliteSubject(*dir, sqlite.SynchronousFull))
	}
	if *dsn != "" {
		subjects = append(subjects, postgresSubject(*dsn, *pgData))
	}
	perEvent := map[string][]float64{} // "sqlite Track" → µs per event at each size
	for _, field := range strings.Split(*sizes, ",") {
		size, err := strconv.Atoi(strings.TrimSpace(field))
		if err != nil {
			fail(fmt.Errorf("-sizes: %w", err))
		}
		results, err := measureSize(ctx, subjects, size, *rounds, *nTrack, *nAll)
		if err != nil {
			fail(err)
		}
		for _, r := range results {
			perEvent[r.name+" Track"] = append(perEvent[r.name+" Track"], 1e6/summary.Median(r.track()))
			perEvent[r.name+" TrackAll"] = append(perEvent[r.name+" TrackAll"], 1e6/summary.Median(r.trackAll()))
			perEvent[r.name+" deliveries"] = append(perEvent[r.name+" deliveries"], 1e6/summary.Median(r.deliveries()))
		}
	}
	if strings.Contains(*sizes, ",") {
		fmt.Println("Per event (or delivery), largest size against smallest (medians):")
		keys := make([]string, 0, len(perEvent))
		for k := range perEvent {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			v := perEvent[k]
			fmt.Printf("  %-40s %6.1f µs → %6.1f µs  %.2fx\n", k, v[0], v[len(v)-1], v[len(v)-1]/v[0])
		}
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}

// result is one store's rounds at one size.
type result struct {
	name        string
	preload     float64 // events/s
	bytesPerPen float64
	samples     []sample
}

func (r result) track() []float64      { return r.pick(func(s sample) float64 { return s.track }) }
func (r result) trackAll() []float64   { return r.pick(func(s sample) float64 { return s.trackAll }) }
func (r result) deliveries() []float64 { return r.pick(func(s sample) float64 { return s.deliveries }) }
func (r result) trackCPU() []float64   { return r.pick(func(s sample) float64 { return s.trackCPU }) }
func (r result) trackAllCPU() []float64 {
	return r.pick(func(s sample) float64 { return s.trackAllCPU })
}
func (r result) deliveriesCPU() []float64 {
	return r.pick(func(s sample) float64 { return s.deliveriesCPU })
}

func (r result) pick(f func(sample) float64) []float64 {
	out := make([]float64, len(r.samples))
	for i, s := range r.samples {
		out[i] = f(s)
	}
	return out
}

// measureSize preloads every subject with size pending deliveries, then
// runs the rounds, taking the subjects in turn, and prints the table.
func measureSize(ctx context.Context, subjects []subject, size, rounds, nTrack, nAll int) ([]result, error) {
	runs := make([]*run, len(subjects))
	results := make([]result, len(subjects))
	defer func() {
		for _, r := range runs {
			if r != nil {
				if err := r.close(); err != nil {
					fmt.Fprintln(os.Stderr, "bench: closing:", err)
				}
			}
		}
	}()
	for i, s := range subjects {
		r, err := newRun(ctx, s)
		if err != nil {
			return nil, err
		}
		runs[i] = r
		took, err := r.preload(ctx, size)
		if err != nil {
			return nil, fmt.Errorf("%s: preloading: %w", s.name, err)
		}
		bytes, err := r.footprint(ctx)
		if err != nil {
			return nil, fmt.Errorf("%s: footprint: %w", s.name, err)
		}
		results[i] = result{name: s.name, preload: float64(size) / took.Seconds(), bytesPerPen: float64(bytes) / float64(size)}
		fmt.Fprintf(os.Stderr, "%s: %d pending preloaded in %v\n", s.name, size, took.Round(time.Millisecond))
	}
	for round := range rounds {
		for i, r := range runs {
			smp, err := r.measure(ctx, nTrack, nAll)
			if err != nil {
				return nil, fmt.Errorf("%s: round %d: %w", r.subject, round+1, err)
			}
			results[i].samples = append(results[i].samples, smp)
			fmt.Fprintf(os.Stderr, "%s, round %d: %+v\n", r.subject, round+1, smp)
		}
	}
	fmt.Printf("%d pending (%d rounds; each: %d Track, %d TrackAll events, their %d deliveries)\n\n",
		size, rounds, nTrack, nAll, nTrack+nAll)
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight|tabwriter.Debug)
	fmt.Fprintln(w, "store\tTrack events/s\tTrackAll events/s\tdeliveries/s\tbytes/pending\tpreload (TrackAll) events/s\t")
	for _, r := range results {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%.0f\t%.0f\t\n", r.name, summary.Spread(r.track()), summary.Spread(r.trackAll()), summary.Spread(r.deliveries()), r.bytesPerPen, r.preload)
	}
	sq := results[1]
	for _, base := range results {
		if base.name == sq.name {
			continue
		}
		fmt.Fprintf(w, "%s / %s\t%s\t%s\t%s\t%.2fx\t%.2fx\t\n", sq.name, base.name,
			summary.Ratio(sq.track(), base.track()), summary.Ratio(sq.trackAll(), base.trackAll()), summary.Ratio(sq.deliveries(), base.deliveries()),
			sq.bytesPerPen/base.bytesPerPen, sq.preload/base.preload)
	}
	w.Flush()
	fmt.Println()
	fmt.Println("CPU time per event or delivery, µs (this process, and the PostgreSQL server's processes when -pgdata names them):")
	fmt.Println()
	w = tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight|tabwriter.Debug)
	fmt.Fprintln(w, "store\tTrack\tTrackAll\tdelivery\t")
	for _, r := range results {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t\n", r.name, summary.Spread1(r.trackCPU()), summary.Spread1(r.trackAllCPU()), summary.Spread1(r.deliveriesCPU()))
	}
	for _, base := range results {
		if base.name == sq.name {
			continue
		}
		fmt.Fprintf(w, "%s / %s\t%s\t%s\t%s\t\n", sq.name, base.name,
			summary.Ratio(sq.trackCPU(), base.trackCPU()), summary.Ratio(sq.trackAllCPU(), base.trackAllCPU()), summary.Ratio(sq.deliveriesCPU(), base.deliveriesCPU()))
	}
	w.Flush()
	fmt.Println()
	return results, nil
}
