package riverbench_test

import (
	"sync"
	"time"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
)

// batchSize is how many events the batched variants hand over at once.
const batchSize = 1000

// inBatches calls f with the i in [0, n) in slices of at most size, from k
// goroutines; goroutine g takes the i ≡ g (mod k), in order.
func inBatches(n, k, size int, f func(idx []int) error) error {
	var wg sync.WaitGroup
	errs := make([]error, k)
	for g := range k {
		wg.Go(func() {
			idx := make([]int, 0, size)
			flush := func() bool {
				if len(idx) == 0 {
					return true
				}
				errs[g] = f(idx)
				idx = idx[:0]
				return errs[g] == nil
			}
			for i := g; i < n; i += k {
				if idx = append(idx, i); len(idx) == size && !flush() {
					return
				}
			}
			flush()
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// trackEach tracks the event of each user that has one (eventOf), with
// Track one by one (batch 0) or with TrackAll in slices of batch.
func trackEach(e *connector.Engine, w workload, batch int, eventOf func(i int) (event.Event, bool)) error {
	if batch == 0 {
		return inParallel(w.users, w.trackers, func(i int) error {
			if ev, ok := eventOf(i); ok {
				return e.Track(ctx, ev)
			}
			return nil
		})
	}
	return inBatches(w.users, w.trackers, batch, func(idx []int) error {
		evs := make([]event.Event, 0, len(idx))
		for _, i := range idx {
			if ev, ok := eventOf(i); ok {
				evs = append(evs, ev)
			}
		}
		return e.TrackAll(ctx, evs)
	})
}

// insertJobs inserts every user's reminder job, with Insert one by one
// (batch 0) or with InsertMany in slices of batch, and keeps their IDs in
// jobs.
func insertJobs(client *river.Client[pgx.Tx], w workload, batch int, users []string, jobs []int64) error {
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
