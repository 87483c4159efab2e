package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/campaignconnector/campaignconnector/store/postgres"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
)

// TestTrackAllOnPostgres tracks one batch — receipts at nanosecond times,
// provider retries, opens, a user's events one after the other in the
// same batch — with TrackAll on PostgreSQL (UpdateBatch) and with Track
// on the memory store, and checks that both leave the same deliveries
// and send the same resends.
func TestTrackAllOnPostgres(t *testing.T) {
	ctx := context.Background()
	start := time.Date(2026, 3, 2, 9, 0, 0, 123456789, time.UTC)
	var evs []event.Event
	for u := range 40 {
		user := fmt.Sprint("u", u)
		rcv := event.Event{ID: fmt.Sprint("rcv-", u), UserID: user, Kind: event.EmailReceived, CampaignID: "newsletter",
			Time: start.Add(time.Duration(u) * time.Nanosecond)}
		evs = append(evs, rcv, rcv) // the provider's retry, in the same batch
		switch u % 4 {
		case 0:
			evs = append(evs, event.Event{ID: fmt.Sprint("open-", u), UserID: user, Kind: event.EmailOpened,
				CampaignID: "newsletter", Time: start.Add(time.Hour)})
		case 1: // opened a nanosecond after the receipt: still strictly after it
			evs = append(evs, event.Event{ID: fmt.Sprint("open-", u), UserID: user, Kind: event.EmailOpened,
				CampaignID: "newsletter", Time: rcv.Time.Add(time.Nanosecond)})
		case 2:
			evs = append(evs, event.Event{UserID: user, Kind: "not_a_kind"})
		}
	}
	run := func(s store.Store, batch bool) (pending []string, sent []string, err error) {
		clk := clock.NewMock()
		clk.Set(start.Add(-time.Minute)) // published before the events
		var mu sync.Mutex                // Tick's send workers call it at once
		send := connector.SenderFunc(func(_ context.Context, d connector.Delivery) error {
			mu.Lock()
			defer mu.Unlock()
			sent = append(sent, d.UserID+" "+d.ID)
			return nil
		})
		e, nerr := connector.New(s, send, connector.WithClock(clk))
		require.NoError(t, nerr)
		require.NoError(t, e.Save(ctx, rule.Campaign{ID: "newsletter"}))
		require.NoError(t, e.Save(ctx, rule.Campaign{ID: "resend",
			Triggers:   []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "newsletter"}},
			Delay:      rule.After(7 * 24 * time.Hour),
			Exceptions: []rule.Exception{{Kind: event.EmailOpened, CampaignID: "newsletter"}}}))
		require.NoError(t, e.Publish(ctx, "resend"))
		require.NoError(t, e.Publish(ctx, "newsletter"))
		clk.Set(start.Add(2 * time.Hour)) // the events arrive late: their times count
		if batch {
			err = e.TrackAll(ctx, evs)
		} else {
			var errs []error
			for i, ev := range evs {
				if terr := e.Track(ctx, ev); terr != nil {
					errs = append(errs, &connector.TrackError{Index: i, Err: terr})
				}
			}
			err = errors.Join(errs...)
		}
		for u := range 40 {
			st, uerr := s.User(ctx, "", fmt.Sprint("u", u))
			if errors.Is(uerr, store.ErrNotFound) {
				continue
			}
			require.NoError(t, uerr)
			for _, p := range st.Pending {
				pending = append(pending, fmt.Sprint("u", u, " ", p.ID, " ", p.CampaignID))
			}
		}
		clk.Add(7 * 24 * time.Hour)
		_, terr := e.Tick(ctx)
		require.NoError(t, terr)
		sort.Strings(pending)
		sort.Strings(sent)
		return pending, sent, err
	}
	wantPending, wantSent, wantErr := run(store.NewMemory(), false)
	gotPending, gotSent, gotErr := run(openStore(t, postgres.WithSchema(testSchema(t))), true)
	require.Len(t, wantPending, 20, "u2 and u3 of every four wait (u0 and u1 opened)")
	require.Equal(t, wantPending, gotPending)
	require.Equal(t, wantSent, gotSent)
	require.Len(t, gotSent, 20)
	require.Error(t, wantErr)
	require.Equal(t, wantErr.Error(), gotErr.Error())
}

// Each op of a batch is deduplicated at its own time: an ID whose window
// ended between two ops' times is a duplicate for the earlier op only.
func TestUpdateBatchDedupsEachOpAtItsOwnTime(t *testing.T) {
	s := openStore(t, postgres.WithSchema(testSchema(t)))
	ctx := context.Background()
	remember := func(user, id string) {
		require.NoError(t, s.Update(ctx, "ns", user, t0, store.Dedup{EventID: id, KeepUntil: t0.Add(time.Hour)},
			func(*store.UserState, bool) {}))
	}
	remember("a", "x")
	remember("b", "x")
	dups := map[string]bool{}
	op := func(user, id string, now time.Time) store.Op {
		return store.Op{UserID: user, Now: now, Dedup: store.Dedup{EventID: id, KeepUntil: now.Add(time.Hour)},
			Fn: func(_ *store.UserState, dup bool) { dups[user+"/"+id+"@"+now.Format(time.TimeOnly)] = dup }}
	}
	ops := []store.Op{
		op("a", "x", t0.Add(time.Hour-time.Microsecond)), // still remembered
		op("b", "x", t0.Add(time.Hour)),                  // forgotten at its time
		op("c", "y", t0.Add(time.Hour)),
		op("c", "y", t0.Add(2*time.Hour)), // the op before remembered it
	}
	require.NoError(t, s.UpdateBatch(ctx, "ns", ops))
	require.Equal(t, map[string]bool{"a/x@12:59:59": true, "b/x@13:00:00": false, "c/y@13:00:00": false, "c/y@14:00:00": true}, dups)
}

// A batch's event IDs are looked up in one statement and recorded in
// another, whatever the number of its ops and of their times.
func TestUpdateBatchStatementsDoNotGrowWithEvents(t *testing.T) {
	ctx := context.Background()
	var tr statementCounter
	cfg, err := pgxpool.ParseConfig(testDSN(t))
	require.NoError(t, err)
	cfg.ConnConfig.Tracer = &tr
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	require.NoError(t, err)
	defer pool.Close()
	s, err := postgres.New(ctx, pool, postgres.WithSchema(testSchema(t)))
	require.NoError(t, err)
	defer s.Close()
	statements := func(n int) int64 {
		var ops []store.Op
		for i := range n {
			user, id := fmt.Sprint("u", n, "-", i), fmt.Sprint("e", i)
			now := t0.Add(time.Duration(i%3) * time.Second)
			ops = append(ops, store.Op{UserID: user, Now: now, Dedup: store.Dedup{EventID: id, KeepUntil: now.Add(time.Hour)},
				Fn: func(u *store.UserState, dup bool) {
					require.False(t, dup)
					u.Pending = append(u.Pending, newPending(user, "f", id, t0.Add(time.Hour)))
				}})
		}
		before := tr.statements.Load()
		require.NoError(t, s.UpdateBatch(ctx, "ns", ops))
		return tr.statements.Load() - before
	}
	require.Equal(t, int64(2), statements(500), "statements on the remembered event IDs")
}

// statementCounter counts the statements sent through a pool that name
// the table of remembered event IDs.
type statementCounter struct{ statements atomic.Int64 }

func (c *statementCounter) count(sql string) {
	if strings.Contains(sql, "campaignconnector_seen") {
		c.statements.Add(1)
	}
}

func (c *statementCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	c.count(d.SQL)
	return ctx
}

func (c *statementCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (c *statementCounter) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	return ctx
}

func (c *statementCounter) TraceBatchQuery(_ context.Context, _ *pgx.Conn, d pgx.TraceBatchQueryData) {
	c.count(d.SQL)
}

func (c *statementCounter) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}
