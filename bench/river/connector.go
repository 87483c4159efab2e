package main

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/campaignconnector/campaignconnector/bench/internal/ids"
	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/store/postgres"
	"github.com/jackc/pgx/v5/pgxpool"
)

var t0 = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)

// phases is what one side measured.
type phases struct {
	track, deliver   cost
	events, delivers int
}

// engine is an engine on the PostgreSQL store in a fresh schema, with a
// no-op sender and a mock clock, its campaigns published.
type engine struct {
	*connector.Engine
	store *postgres.Store
	clk   *clock.Mock
	sent  atomic.Int64
}

func newEngine(ctx context.Context, pool *pgxpool.Pool, schema string, opts ...connector.Option) (*engine, error) {
	s, err := postgres.New(ctx, pool, postgres.WithSchema(schema))
	if err != nil {
		return nil, err
	}
	e := &engine{store: s, clk: clock.NewMock()}
	e.clk.Set(t0)
	noop := connector.SenderFunc(func(context.Context, connector.Delivery) error {
		e.sent.Add(1)
		return nil
	})
	if e.Engine, err = connector.New(s, noop, append([]connector.Option{connector.WithClock(e.clk)}, opts...)...); err != nil {
		s.Close()
		return nil, err
	}
	for _, c := range campaigns() {
		if err := e.Save(ctx, c); err != nil {
			s.Close()
			return nil, err
		}
		if err := e.Publish(ctx, c.ID); err != nil {
			s.Close()
			return nil, err
		}
	}
	return e, nil
}

// drain ticks until want deliveries were sent in all.
func (e *engine) drain(ctx context.Context, want int64) error {
	for e.sent.Load() < want {
		n, err := e.Tick(ctx)
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("a tick sent nothing with %d deliveries left", want-e.sent.Load())
		}
	}
	return nil
}

// connectorRun runs the workload through an engine on the PostgreSQL
// store with the engine's defaults: Track per event (batch 0) or TrackAll
// with batch events a call; the mock clock is moved past the wait,
// untimed; then Tick until every reminder is sent.
func connectorRun(ctx context.Context, pool *pgxpool.Pool, w workload, batch int, src source) (phases, error) {
	schema, drop, err := newSchema(ctx, pool)
	if err != nil {
		return phases{}, err
	}
	defer drop()
	e, err := newEngine(ctx, pool, schema)
	if err != nil {
		return phases{}, err
	}
	defer e.store.Close()
	users := ids.Users(fmt.Sprint("cart-", w.users), w.users)
	p := phases{events: w.events()}
	runtime.GC()

	p.track.begin()
	err = trackEach(ctx, e, w, batch, func(i int) (event.Event, bool) { return src.trigger(users[i]), true })
	if err == nil {
		e.clk.Add(30 * time.Minute)
		err = trackEach(ctx, e, w, batch, func(i int) (event.Event, bool) { return src.exceptionOf(users[i], i) })
	}
	p.track.end()
	if err != nil {
		return p, err
	}

	e.clk.Add(time.Hour)
	runtime.GC()
	p.deliver.begin()
	err = e.drain(ctx, int64(w.deliveries()))
	p.deliver.end()
	if err != nil {
		return p, err
	}
	st, err := e.Stats(ctx)
	if err != nil {
		return p, err
	}
	if st.Pending != 0 {
		return p, fmt.Errorf("%d deliveries still pending", st.Pending)
	}
	p.delivers = int(e.sent.Load())
	return p, nil
}

// trackEach tracks the event of each user that has one (eventOf), with
// Track one by one (batch 0) or with TrackAll in slices of batch.
func trackEach(ctx context.Context, e *engine, w workload, batch int, eventOf func(i int) (event.Event, bool)) error {
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
