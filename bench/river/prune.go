package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"text/tabwriter"
	"time"

	"github.com/campaignconnector/campaignconnector/bench/internal/ids"
	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Steady traffic for the prune measurement: 100,000 users, each step ten
// minutes of the mock clock in which steadyPerStep events arrive (half
// abandoned-cart pushes, half purchases and opens, each with an ID of its
// own), then a Tick, which sends what fell due and prunes. The engine
// keeps event IDs for its default 72 hours and receipts for 7 days
// (WithReceiptRetention).
const (
	steadyUsers = 100_000
	steadyStep  = 10 * time.Minute
)

// measurePrune tracks n unique events as steady traffic over days of the
// mock clock and prints the store's tables' sizes every tenth of the way:
// under steady traffic they reach a plateau once the oldest remembered
// event IDs and receipts are pruned, and stay there.
func measurePrune(ctx context.Context, pool *pgxpool.Pool, n, days int) error {
	schema, drop, err := newSchema(ctx, pool)
	if err != nil {
		return err
	}
	defer drop()
	e, err := newEngine(ctx, pool, schema, connector.WithReceiptRetention(7*24*time.Hour))
	if err != nil {
		return err
	}
	defer e.store.Close()
	users := ids.Users("steady", steadyUsers)
	steps := max(10, int(time.Duration(days)*24*time.Hour/steadyStep))
	perStep := max(1, n/steps)
	r := rand.New(rand.NewPCG(1, 2))
	src := source{}
	fmt.Printf("Steady traffic: %d unique events over %v of the mock clock, %d every %v, %d users; table sizes after VACUUM (autovacuum's work, which real time gives it)\n\n",
		perStep*steps, time.Duration(steps)*steadyStep, perStep, steadyStep, steadyUsers)
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight|tabwriter.Debug)
	fmt.Fprintln(tw, "events\tmock time\tpending rows\tpending MB\tusers rows\tusers MB\tseen rows\tseen MB\tall tables MB\t")
	tracked := 0
	for step := 1; step <= steps; step++ {
		evs := make([]event.Event, 0, perStep)
		for i := range perStep {
			u := users[r.IntN(len(users))]
			if i%2 == 0 {
				evs = append(evs, src.trigger(u))
			} else if ev, ok := src.exceptionOf(u, r.IntN(6)); ok {
				evs = append(evs, ev)
			}
		}
		if err := e.TrackAll(ctx, evs); err != nil {
			return err
		}
		tracked += len(evs)
		e.clk.Add(steadyStep)
		for {
			sent, err := e.Tick(ctx)
			if err != nil {
				return err
			}
			if sent == 0 {
				break
			}
		}
		if step%(steps/10) == 0 {
			sizes, err := tableSizes(ctx, pool, schema)
			if err != nil {
				return err
			}
			fmt.Fprintf(tw, "%d\t%v\t%d\t%.1f\t%d\t%.1f\t%d\t%.1f\t%.1f\t\n", tracked, time.Duration(step)*steadyStep,
				sizes["pending"].rows, sizes["pending"].mb(), sizes["users"].rows, sizes["users"].mb(),
				sizes["seen"].rows, sizes["seen"].mb(), sizes[""].mb())
			fmt.Fprintf(os.Stderr, "%d events tracked\n", tracked)
		}
	}
	tw.Flush()
	fmt.Println()
	return nil
}

type tableSize struct {
	rows  int64
	bytes int64 // pg_total_relation_size: heap, indexes, TOAST
}

func (t tableSize) mb() float64 { return float64(t.bytes) / (1 << 20) }

// tableSizes vacuums the schema's tables, as autovacuum does (a plain
// VACUUM: it makes dead rows' space reusable, never returns it to the
// system unless at the table's end), and returns their sizes, by table
// name without the prefix; "" is their sum.
func tableSizes(ctx context.Context, pool *pgxpool.Pool, schema string) (map[string]tableSize, error) {
	out := map[string]tableSize{}
	var total tableSize
	for _, name := range []string{"pending", "users", "seen", "counters", "interactions", "campaigns", "namespaces"} {
		table := schema + ".campaignconnector_" + name
		if _, err := pool.Exec(ctx, "VACUUM "+table); err != nil {
			return nil, err
		}
		var t tableSize
		err := pool.QueryRow(ctx, "SELECT (SELECT count(*) FROM "+table+"), pg_total_relation_size($1)", table).Scan(&t.rows, &t.bytes)
		if err != nil {
			return nil, err
		}
		out[name] = t
		total.rows += t.rows
		total.bytes += t.bytes
	}
	out[""] = total
	return out, nil
}
