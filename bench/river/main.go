// Command riverbench compares campaignconnector on its PostgreSQL store
// with github.com/riverqueue/river on the same database, in one run, and
// measures the store at scale. It is a module of its own (never
// published), so that the library never depends on River.
//
//	source .ci/postgres.sh start                      # from the repository root (bash)
//	PGDIR=${CAMPAIGNCONNECTOR_PG_DIR:-${TMPDIR:-/tmp}/campaignconnector-pg}/data
//	go run ./bench/river                              # against River, 5 rounds
//	go run ./bench/river -pgdata "$PGDIR"             # count the server's CPU time too (Linux)
//	go run ./bench/river -scale                       # 10,000 against 1,000,000 pending
//	go run ./bench/river -prune                       # table sizes under steady traffic
//
// Against River (the default), each round runs every case in turn, each
// in a fresh schema of the same database, on one pgx pool of 20
// connections: the abandoned-cart workload (workload.go) through the
// engine (Track per event from 1 and from 8 goroutines, TrackAll 1,000 a
// call) and through River (Insert, InsertMany; JobCancel for the
// exceptions; a no-op worker). Figures are medians of the rounds with
// their range; ratios are taken round by round, each engine case against
// the River case run next to it.
//
// CPU time is this process's (getrusage) plus, with -pgdata naming the
// server's data directory, the server's processes' (/proc): on a shared
// machine elapsed time also counts the time others had the CPUs, CPU time
// does not.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/campaignconnector/campaignconnector/bench/internal/cputime"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

func main() {
	dsn := flag.String("dsn", os.Getenv("CAMPAIGNCONNECTOR_POSTGRES_DSN"), "PostgreSQL DSN")
	flag.StringVar(&pgData, "pgdata", "", "the server's data directory, to count its CPU time (a server of the benchmark's own)")
	rounds := flag.Int("rounds", 5, "measured rounds (against River: after a warm-up round at a tenth of the users)")
	users := flag.Int("users", 20_000, "users of the abandoned-cart workload (not with -scale or -prune)")
	trackers := flag.String("trackers", "1,8", "goroutines calling Track and Insert, comma-separated")
	noIDs := flag.Bool("noids", false, "also run the engine's cases with events without IDs")
	only := flag.String("cases", "", "run only the cases whose name matches this regular expression")
	scale := flag.Bool("scale", false, "measure Track and Tick with -sizes deliveries pending instead")
	sizes := flag.String("sizes", "10000,1000000", "with -scale: pending deliveries preloaded, smallest first")
	nTrack := flag.Int("track", 2000, "with -scale: events tracked with Track per round")
	nAll := flag.Int("trackall", 20000, "with -scale: events tracked with TrackAll per round")
	prune := flag.Bool("prune", false, "measure table sizes under steady traffic instead")
	nEvents := flag.Int("events", 1_000_000, "with -prune: unique events tracked")
	days := flag.Int("days", 30, "with -prune: days of the mock clock the events are spread over")
	cpuProfile := flag.String("cpuprofile", "", "write this process's CPU profile of the whole run to this file")
	memProfile := flag.String("memprofile", "", "write this process's allocation profile of the whole run to this file")
	flag.Parse()
	stop, err := startProfiles(*cpuProfile, *memProfile)
	if err != nil {
		fail(err)
	}
	defer func() {
		if err := stop(); err != nil {
			fmt.Fprintln(os.Stderr, "riverbench: profiles:", err)
		}
	}()
	if *dsn == "" {
		fail(fmt.Errorf("no database: set CAMPAIGNCONNECTOR_POSTGRES_DSN or -dsn (source .ci/postgres.sh start)"))
	}
	if pgData != "" {
		if err := cputime.CheckServer(pgData); err != nil {
			fail(err)
		}
	}
	ctx := context.Background()
	pool, err := newPool(ctx, *dsn)
	if err != nil {
		fail(err)
	}
	defer pool.Close()
	fmt.Printf("campaignconnector on PostgreSQL — %s, %s/%s, %d CPUs, %s, %s\n\n",
		runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), serverVersion(ctx, pool), time.Now().UTC().Format(time.RFC3339))
	switch {
	case *prune:
		err = measurePrune(ctx, pool, *nEvents, *days)
	case *scale:
		var ns []int
		if ns, err = numbers(*sizes); err == nil {
			err = measureScale(ctx, pool, ns, *rounds, *nTrack, *nAll)
		}
	default:
		var ts []int
		if ts, err = numbers(*trackers); err == nil {
			err = compare(ctx, pool, *users, ts, *rounds, *noIDs, *only)
		}
	}
	if err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "riverbench:", err)
	os.Exit(1)
}

func numbers(list string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q: want positive numbers, comma-separated", list)
		}
		out = append(out, n)
	}
	return out, nil
}

// newPool connects to the benchmark's database: 20 connections, with a
// tracer counting what is sent to the server.
func newPool(ctx context.Context, dsn string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	cfg.MaxConns = 20
	cfg.ConnConfig.Tracer = &counter
	return pgxpool.NewWithConfig(ctx, cfg)
}

func serverVersion(ctx context.Context, pool *pgxpool.Pool) string {
	var v string
	if err := pool.QueryRow(ctx, "SHOW server_version").Scan(&v); err != nil {
		return "PostgreSQL ?"
	}
	return "PostgreSQL " + strings.Fields(v)[0]
}

var schemas atomic.Int64

// newSchema creates a schema for one run; drop drops it.
func newSchema(ctx context.Context, pool *pgxpool.Pool) (name string, drop func(), err error) {
	name = fmt.Sprintf("ccbench_%d_%d", os.Getpid(), schemas.Add(1))
	if _, err := pool.Exec(ctx, "CREATE SCHEMA "+name); err != nil {
		return "", nil, err
	}
	return name, func() {
		if _, err := pool.Exec(context.Background(), "DROP SCHEMA "+pgx.Identifier{name}.Sanitize()+" CASCADE"); err != nil {
			fmt.Fprintln(os.Stderr, "riverbench: dropping", name+":", err)
		}
	}, nil
}
