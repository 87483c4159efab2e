package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"time"

	"github.com/campaignconnector/campaignconnector/bench/internal/ids"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
)

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

// riverRun runs the workload through River, as a host would without
// campaignconnector: a push_received inserts a job scheduled an hour
// later (Insert one by one, or InsertMany batch at a time) and the host
// keeps its ID (here in memory: River's best case; a host restarting
// would need a table of its own, or a look-up by args); an exception
// cancels it with JobCancel (River has no batch cancel). Events carry no
// ID: River's jobs are not deduplicated.
//
// The client is configured as River's own benchmark (cmd/river/riverbench)
// configures it for throughput: 2,000 workers, a fetch cooldown of 2 ms
// and a poll interval of 20 ms. It is not running while events are tracked
// (inserting needs no running client) and is started, idle, before the
// delivery phase. That phase begins with what River's scheduler does when
// the hour has passed (it runs every 5 seconds): one UPDATE making the
// scheduled jobs available; then it waits for the last completion event.
func riverRun(ctx context.Context, pool *pgxpool.Pool, w workload, batch int) (phases, error) {
	schema, drop, err := newSchema(ctx, pool)
	if err != nil {
		return phases{}, err
	}
	defer drop()
	driver := riverpgxv5.New(pool)
	migrator, err := rivermigrate.New(driver, &rivermigrate.Config{Schema: schema})
	if err != nil {
		return phases{}, err
	}
	if _, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return phases{}, err
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
		return phases{}, err
	}
	completed, unsubscribe := client.SubscribeConfig(&river.SubscribeConfig{
		ChanSize: w.deliveries() + 1000, Kinds: []river.EventKind{river.EventKindJobCompleted}})
	defer unsubscribe()
	users := ids.Users(fmt.Sprint("cart-", w.users), w.users)
	jobs := make([]int64, w.users)
	p := phases{events: w.events()}
	runtime.GC()

	p.track.begin()
	err = insertJobs(ctx, client, w, batch, users, jobs)
	if err == nil {
		err = inParallel(w.users, w.trackers, func(i int) error {
			if exception(i) == "" {
				return nil
			}
			_, err := client.JobCancel(ctx, jobs[i])
			return err
		})
	}
	p.track.end()
	if err != nil {
		return p, err
	}

	if err := client.Start(ctx); err != nil {
		return p, err
	}
	defer func() {
		if err := client.Stop(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "river: stopping the client:", err)
		}
	}()
	runtime.GC()
	p.deliver.begin()
	_, err = pool.Exec(ctx, `UPDATE `+pgx.Identifier{schema, "river_job"}.Sanitize()+
		` SET state = 'available', scheduled_at = now() WHERE state = 'scheduled'`)
	if err != nil {
		return p, err
	}
	timeout := time.NewTimer(5 * time.Minute)
	defer timeout.Stop()
	for range w.deliveries() {
		select {
		case <-completed:
			p.delivers++
		case <-timeout.C:
			return p, fmt.Errorf("%d of %d jobs completed after 5 minutes", p.delivers, w.deliveries())
		}
	}
	p.deliver.end()

	var done, cancelled int
	err = pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE state = 'completed'), count(*) FILTER (WHERE state = 'cancelled') FROM `+
		pgx.Identifier{schema, "river_job"}.Sanitize()).Scan(&done, &cancelled)
	if err != nil {
		return p, err
	}
	if done != w.deliveries() || cancelled != w.users-w.deliveries() {
		return p, fmt.Errorf("%d jobs completed, %d cancelled; want %d, %d", done, cancelled, w.deliveries(), w.users-w.deliveries())
	}
	return p, nil
}

// insertJobs inserts every user's reminder job, with Insert one by one
// (batch 0) or with InsertMany in slices of batch, and keeps their IDs in
// jobs.
func insertJobs(ctx context.Context, client *river.Client[pgx.Tx], w workload, batch int, users []string, jobs []int64) error {
	if batch == 0 {
		return inParallel(w.users, w.trackers, func(i int) error {
			res, err := client.Insert(ctx, reminderArgs{UserID: users[i]}, &river.InsertOpts{ScheduledAt: time.Now().Add(time.Hour)})
			if err == nil {
				jobs[i] = res.Job.ID
			}
			return err
		})
	}
	return inBatches(w.users, w.trackers, batch, func(idx []int) error {
		params := make([]river.InsertManyParams, len(idx))
		for k, i := range idx {
			params[k] = river.InsertManyParams{Args: reminderArgs{UserID: users[i]}, InsertOpts: &river.InsertOpts{ScheduledAt: time.Now().Add(time.Hour)}}
		}
		res, err := client.InsertMany(ctx, params)
		if err != nil {
			return err
		}
		for k, i := range idx {
			jobs[i] = res[k].Job.ID
		}
		return nil
	})
}
