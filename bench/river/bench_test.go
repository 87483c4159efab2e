package riverbench_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store/postgres"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
)

// BenchmarkAbandonedCart runs the workload through campaignconnector
// (Track per event, then Tick with a no-op sender) and through River (one
// scheduled job per trigger, cancelled on an exception, a no-op worker),
// each in a schema of its own on the same database, with the same pool
// settings, tracking from 1 and from 8 goroutines.
//
// It reports, besides the whole run's ns/op, B/op and allocs/op (with
// -benchmem):
//   - events/s: the tracking phase, every trigger then every exception;
//   - deliveries/s: the delivery phase, from the moment the deliveries are
//     due until the last is recorded (sent or completed);
//   - round-trips/event and /delivery: pgx queries and batches sent to the
//     server in each phase (a batch is one round trip), and
//     statements/event and /delivery;
//   - allocs/event, B/event, allocs/delivery, B/delivery: the process's
//     allocations in each phase.
//
// The batched variants hand events over 1,000 at a time: TrackAll for
// the engine, InsertMany for River's inserts.
//
// BENCH_USERS sets the number of users (20,000 by default);
// BENCH_SEND_CONCURRENCY the engine's send workers (4 by default).
func BenchmarkAbandonedCart(b *testing.B) {
	pool := newPool(b)
	w := workload{users: envInt(b, "BENCH_USERS", 20_000)}
	for _, trackers := range []int{1, 8} {
		w.trackers = trackers
		b.Run(fmt.Sprintf("campaignconnector/trackers=%d", trackers), func(b *testing.B) { run(b, w, pool, connectorSide) })
		b.Run(fmt.Sprintf("river/trackers=%d", trackers), func(b *testing.B) { run(b, w, pool, riverSide) })
	}
	// Events handed over in batches: TrackAll for the engine, InsertMany
	// for River's inserts.
	w.trackers = 1
	b.Run("campaignconnector-trackall/trackers=1", func(b *testing.B) { run(b, w, pool, connectorSideBatch(batchSize)) })
	b.Run("river-insertmany/trackers=1", func(b *testing.B) { run(b, w, pool, riverSideBatch(batchSize)) })
}

// workload is the abandoned-cart workload: users each receive the
// abandoned-cart push (the trigger); then 40 % purchase and 20 % open the
// push during the wait (the exceptions cancel their follow-up); the other
// 40 % get the follow-up when the delay ends. Events are tracked from
// trackers goroutines, each with users of its own, so a user's events
// keep their order.
type workload struct {
	users    int
	trackers int
}

// exception returns the exception user i sends during the wait, or "".
func exception(i int) event.Kind {
	switch i % 10 {
	case 0, 1, 2, 3:
		return event.Purchase
	case 4, 5:
		return event.PushOpened
	}
	return ""
}

func (w workload) events() int {
	n := w.users
	for i := range w.users {
		if exception(i) != "" {
			n++
		}
	}
	return n
}

func (w workload) deliveries() int { return w.users*2 - w.events() }

// inParallel calls f(i) for every i in [0, n) from k goroutines; goroutine
// g takes the i ≡ g (mod k).
func inParallel(n, k int, f func(i int) error) error {
	var wg sync.WaitGroup
	errs := make([]error, k)
	for g := range k {
		wg.Go(func() {
			for i := g; i < n; i += k {
				if err := f(i); err != nil {
					errs[g] = err
					return
				}
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// phases is what one side measured.
type phases struct {
	track, deliver   cost
	events, delivers int
}

// cost is what one phase took: time, the process's allocations, and what
// it sent to the server.
type cost struct {
	d                        time.Duration
	allocs, bytes            uint64
	roundTrips, statements   int64
	roundTrips0, statements0 int64
	m0                       runtime.MemStats
	start                    time.Time
}

func (c *cost) begin() {
	runtime.ReadMemStats(&c.m0)
	c.roundTrips0, c.statements0 = counter.roundTrips.Load(), counter.statements.Load()
	c.start = time.Now()
}

func (c *cost) end() {
	c.d = time.Since(c.start)
	var m1 runtime.MemStats
	runtime.ReadMemStats(&m1)
	c.allocs, c.bytes = m1.Mallocs-c.m0.Mallocs, m1.TotalAlloc-c.m0.TotalAlloc
	c.roundTrips, c.statements = counter.roundTrips.Load()-c.roundTrips0, counter.statements.Load()-c.statements0
}

func (c *cost) report(b *testing.B, n int, unit, plural string) {
	f := float64(n)
	b.ReportMetric(f/c.d.Seconds(), plural+"/s")
	b.ReportMetric(float64(c.roundTrips)/f, "round-trips/"+unit)
	b.ReportMetric(float64(c.statements)/f, "statements/"+unit)
	b.ReportMetric(float64(c.allocs)/f, "allocs/"+unit)
	b.ReportMetric(float64(c.bytes)/f, "B/"+unit)
}

// run runs the workload through side once per iteration and reports the
// last iteration's figures. Setup and checks run with the timer stopped.
func run(b *testing.B, w workload, pool *pgxpool.Pool, side func(*testing.B, workload, *pgxpool.Pool) phases) {
	var p phases
	for range b.N { // one iteration takes seconds: b.N is 1 unless -benchtime asks for more
		p = side(b, w, pool)
		if p.events != w.events() || p.delivers != w.deliveries() {
			b.Fatalf("%d events, %d deliveries; want %d, %d", p.events, p.delivers, w.events(), w.deliveries())
		}
	}
	p.track.report(b, p.events, "event", "events")
	p.deliver.report(b, p.delivers, "delivery", "deliveries")
}

var (
	ctx = context.Background()
	t0  = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
)

// campaigns is the abandoned-cart flow: the push campaign and its
// reminder, an hour later unless the user purchases or opens the push
// meanwhile.
func campaigns() []rule.Campaign {
	return []rule.Campaign{
		{ID: "abandoned_cart"},
		{ID: "cart_reminder", Reeligibility: rule.ReeligibleAfter(0),
			Triggers:   []rule.Trigger{{Kind: event.PushReceived, CampaignID: "abandoned_cart"}},
			Delay:      rule.After(time.Hour),
			Exceptions: []rule.Exception{{Kind: event.Purchase}, {Kind: event.PushOpened, CampaignID: "abandoned_cart"}}},
	}
}

// connectorSide runs the workload through an engine on the PostgreSQL
// store, with the engine's defaults (a batch of 256, 4 send workers) and a
// mock clock, moved by hand across the wait: nothing is tracked while it
// moves. Events carry no ID (no deduplication), as River's jobs have no
// uniqueness.
func connectorSide(b *testing.B, w workload, pool *pgxpool.Pool) phases {
	return connectorSideBatch(0)(b, w, pool)
}

// connectorSideBatch is connectorSide with each tracker handing its events
// to TrackAll in slices of batch (0: Track, one by one).
func connectorSideBatch(batch int) func(*testing.B, workload, *pgxpool.Pool) phases {
	return func(b *testing.B, w workload, pool *pgxpool.Pool) phases { return connectorRun(b, w, pool, batch) }
}

func connectorRun(b *testing.B, w workload, pool *pgxpool.Pool, batch int) phases {
	b.StopTimer()
	s, err := postgres.New(ctx, pool, postgres.WithSchema(newSchema(b, pool)))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	clk := clock.NewMock()
	clk.Set(t0)
	var sent atomic.Int64
	noop := connector.SenderFunc(func(context.Context, connector.Delivery) error {
		sent.Add(1)
		return nil
	})
	opts := []connector.Option{connector.WithClock(clk)}
	if n := envInt(b, "BENCH_SEND_CONCURRENCY", 0); n > 0 {
		opts = append(opts, connector.WithSendConcurrency(n))
	}
	e, err := connector.New(s, noop, opts...)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range campaigns() {
		if err := e.Save(ctx, c); err != nil {
			b.Fatal(err)
		}
	}
	for _, id := range []string{"abandoned_cart", "cart_reminder"} {
		if err := e.Publish(ctx, id); err != nil {
			b.Fatal(err)
		}
	}
	users := userIDs(w.users)
	p := phases{events: w.events()}
	runtime.GC()
	b.StartTimer()

	p.track.begin()
	err = trackEach(e, w, batch, func(i int) (event.Event, bool) {
		return event.Event{UserID: users[i], Kind: event.PushReceived, CampaignID: "abandoned_cart"}, true
	})
	if err != nil {
		b.Fatal(err)
	}
	clk.Add(30 * time.Minute)
	err = trackEach(e, w, batch, func(i int) (event.Event, bool) {
		switch exception(i) {
		case event.Purchase:
			return event.Event{UserID: users[i], Kind: event.Purchase, Name: "sku-1"}, true
		case event.PushOpened:
			return event.Event{UserID: users[i], Kind: event.PushOpened, CampaignID: "abandoned_cart"}, true
		}
		return event.Event{}, false
	})
	p.track.end()
	if err != nil {
		b.Fatal(err)
	}

	b.StopTimer()
	clk.Add(time.Hour)
	b.StartTimer()
	p.deliver.begin()
	for {
		n, err := e.Tick(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	p.deliver.end()
	b.StopTimer()

	st, err := e.Stats(ctx)
	if err != nil {
		b.Fatal(err)
	}
	if st.Pending != 0 {
		b.Fatalf("%d deliveries still pending", st.Pending)
	}
	p.delivers = int(sent.Load())
	return p
}

// reminderArgs is the River job of a reminder.
type reminderArgs struct {
	UserID string `json:"user_id"`
}

func (reminderArgs) Kind() string { return "cart_reminder" }

// reminderWorker sends nothing.
type reminderWorker struct {
	river.WorkerDefaults[reminderArgs]
}

func (reminderWorker) Work(context.Context, *river.Job[reminderArgs]) error { return nil }

// riverSide runs the workload through River, as a host would without
// campaignconnector: a push_received inserts a job scheduled an hour
// later and the host keeps its ID (here in memory: River's best case; a
// host restarting would need a table of its own, or a look-up by args); an
// exception cancels it with JobCancel.
//
// The client is configured as River's own benchmark (cmd/river/riverbench)
// configures it for throughput: 2,000 workers, a fetch cooldown of 2 ms
// and a poll interval of 20 ms. It is not running while events are tracked
// (inserting needs no running client) and is started, idle, before the
// delivery phase. That phase begins with what River's scheduler does when
// the hour has passed (it runs every 5 seconds): one UPDATE making the
// scheduled jobs available; then it waits for the last completion event.
func riverSide(b *testing.B, w workload, pool *pgxpool.Pool) phases {
	return riverRun(b, w, pool, 0)
}

// riverSideBatch is riverSide with each tracker inserting its jobs with
// InsertMany, batch at a time (River has no batch cancel: cancellations
// stay one JobCancel each).
func riverSideBatch(batch int) func(*testing.B, workload, *pgxpool.Pool) phases {
	return func(b *testing.B, w workload, pool *pgxpool.Pool) phases { return riverRun(b, w, pool, batch) }
}

func riverRun(b *testing.B, w workload, pool *pgxpool.Pool, batch int) phases {
	b.StopTimer()
	schema := newSchema(b, pool)
	driver := riverpgxv5.New(pool)
	migrator, err := rivermigrate.New(driver, &rivermigrate.Config{Schema: schema})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		b.Fatal(err)
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, &reminderWorker{})
	client, err := river.NewClient(driver, &river.Config{
		Schema:            schema,
		Workers:           workers,
		Queues:            map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 2_000}},
		FetchCooldown:     2 * time.Millisecond,
		FetchPollInterval: 20 * time.Millisecond,
		Logger:            slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		b.Fatal(err)
	}
	completed, unsubscribe := client.SubscribeConfig(&river.SubscribeConfig{
		ChanSize: w.deliveries() + 1000, Kinds: []river.EventKind{river.EventKindJobCompleted}})
	defer unsubscribe()
	users := userIDs(w.users)
	jobs := make([]int64, w.users)
	p := phases{events: w.events()}
	runtime.GC()
	b.StartTimer()

	p.track.begin()
	err = insertJobs(client, w, batch, users, jobs)
	if err != nil {
		b.Fatal(err)
	}
	err = inParallel(w.users, w.trackers, func(i int) error {
		if exception(i) == "" {
			return nil
		}
		_, err := client.JobCancel(ctx, jobs[i])
		return err
	})
	p.track.end()
	if err != nil {
		b.Fatal(err)
	}

	b.StopTimer()
	if err := client.Start(ctx); err != nil {
		b.Fatal(err)
	}
	defer func() {
		if err := client.Stop(ctx); err != nil {
			b.Error(err)
		}
	}()
	b.StartTimer()
	p.deliver.begin()
	_, err = pool.Exec(ctx, `UPDATE `+pgx.Identifier{schema, "river_job"}.Sanitize()+
		` SET state = 'available', scheduled_at = now() WHERE state = 'scheduled'`)
	if err != nil {
		b.Fatal(err)
	}
	timeout := time.NewTimer(5 * time.Minute)
	defer timeout.Stop()
	for range w.deliveries() {
		select {
		case <-completed:
			p.delivers++
		case <-timeout.C:
			b.Fatalf("%d of %d jobs completed after 5 minutes", p.delivers, w.deliveries())
		}
	}
	p.deliver.end()
	b.StopTimer()

	var done, cancelled int
	err = pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE state = 'completed'), count(*) FILTER (WHERE state = 'cancelled') FROM `+
		pgx.Identifier{schema, "river_job"}.Sanitize()).Scan(&done, &cancelled)
	if err != nil {
		b.Fatal(err)
	}
	if done != w.deliveries() || cancelled != w.users-w.deliveries() {
		b.Fatalf("%d jobs completed, %d cancelled; want %d, %d", done, cancelled, w.deliveries(), w.users-w.deliveries())
	}
	return p
}

func userIDs(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = "user-" + strconv.Itoa(i)
	}
	return out
}

const dsnVar = "CAMPAIGNCONNECTOR_POSTGRES_DSN"

// newPool connects to the benchmark's database. Without one the benchmark
// is skipped, except on CI, where a missing database is a failure. Both
// sides share the pool: 20 connections, with a tracer counting what is
// sent to the server.
func newPool(b *testing.B) *pgxpool.Pool {
	b.Helper()
	dsn := os.Getenv(dsnVar)
	if dsn == "" {
		const how = "start a throwaway server with `source .ci/postgres.sh start` (from the repository root)"
		if os.Getenv("CI") == "true" {
			b.Fatalf("%s is not set and CI=true: %s", dsnVar, how)
		}
		b.Skipf("%s is not set: %s", dsnVar, how)
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		b.Fatal(err)
	}
	cfg.MaxConns = 20
	cfg.ConnConfig.Tracer = &counter
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pool.Close)
	return pool
}

var schemas atomic.Int64

// newSchema creates a schema for one run, dropped when the benchmark ends.
func newSchema(b *testing.B, pool *pgxpool.Pool) string {
	name := fmt.Sprintf("ccbench_%d_%d_%d", os.Getpid(), time.Now().UnixNano()%1e9, schemas.Add(1))
	if _, err := pool.Exec(ctx, "CREATE SCHEMA "+name); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if _, err := pool.Exec(context.Background(), "DROP SCHEMA "+name+" CASCADE"); err != nil {
			b.Error(err)
		}
	})
	return name
}

func envInt(b *testing.B, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		b.Fatalf("%s=%q: want a positive number", name, v)
	}
	return n
}

// queryCounter counts round trips (queries, and batches as one) and
// statements sent through the pool.
type queryCounter struct {
	roundTrips, statements atomic.Int64
}

var counter queryCounter

func (c *queryCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.roundTrips.Add(1)
	c.statements.Add(1)
	return ctx
}

func (c *queryCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (c *queryCounter) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	c.roundTrips.Add(1)
	return ctx
}

func (c *queryCounter) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {
	c.statements.Add(1)
}

func (c *queryCounter) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}
