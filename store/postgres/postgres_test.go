package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/campaignconnector/campaignconnector/store/postgres"
	"github.com/campaignconnector/campaignconnector/store/storetest"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestConformance(t *testing.T) {
	s := openStore(t, postgres.WithSchema(testSchema(t)))
	storetest.Run(t, func(*testing.T) store.Store { return s })
}

// The default table set: the connection's current schema, default prefix.
func TestConformanceDefaultSchema(t *testing.T) {
	prefix := fmt.Sprintf("cctest%d_", time.Now().UnixNano()%1e9)
	pool := newPool(t)
	t.Cleanup(func() { dropTables(t, pool, prefix) })
	s := openStore(t, postgres.WithTablePrefix(prefix))
	storetest.Run(t, func(*testing.T) store.Store { return s })
}

// dropTables drops the tables named after prefix in the current schema.
func dropTables(t *testing.T, pool *pgxpool.Pool, prefix string) {
	ctx := context.Background()
	rows, err := pool.Query(ctx, `SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND starts_with(tablename, $1)`, prefix)
	require.NoError(t, err)
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.NotEmpty(t, names)
	for _, n := range names {
		_, err := pool.Exec(ctx, "DROP TABLE IF EXISTS "+n+" CASCADE")
		require.NoError(t, err)
	}
}

func TestMigrateConcurrentlyAndAgain(t *testing.T) {
	schema := testSchema(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	stores := make([]*postgres.Store, 6)
	errs := make([]error, len(stores))
	for i := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stores[i], errs[i] = postgres.Open(ctx, testDSN(t), postgres.WithSchema(schema))
		}()
	}
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err, "store %d", i)
		defer stores[i].Close()
	}
	pool := newPool(t)
	var versions, rows int
	require.NoError(t, pool.QueryRow(ctx, fmt.Sprintf(`SELECT count(DISTINCT version), count(*) FROM %s.campaignconnector_migrations`, schema)).Scan(&versions, &rows))
	require.Equal(t, versions, rows, "each migration applied once")
	require.GreaterOrEqual(t, versions, 1)

	// Again, on a pool of the caller's, and with migration off.
	again, err := postgres.New(ctx, pool, postgres.WithSchema(schema))
	require.NoError(t, err)
	again.Close()
	require.NoError(t, postgres.Migrate(ctx, pool, postgres.WithSchema(schema)))
	checked, err := postgres.New(ctx, pool, postgres.WithSchema(schema), postgres.WithMigrate(false))
	require.NoError(t, err)
	checked.Close()
	require.NoError(t, pool.Ping(ctx), "Close leaves a pool it does not own open")

	// Data written by one store is there for the next.
	_, err = stores[0].UpdateCampaign(ctx, "ns", "c", func(rec *store.CampaignRecord, _ bool) error {
		rec.Campaign, rec.State = rule.Campaign{ID: "c"}, rule.Draft
		return nil
	})
	require.NoError(t, err)
	reopened := openStore(t, postgres.WithSchema(schema))
	_, recs, err := reopened.Campaigns(ctx, "ns")
	require.NoError(t, err)
	require.Len(t, recs, 1)
}

func TestMigrateOffNeedsMigrate(t *testing.T) {
	schema := testSchema(t)
	ctx := context.Background()
	pool := newPool(t)
	_, err := postgres.New(ctx, pool, postgres.WithSchema(schema), postgres.WithMigrate(false))
	require.ErrorIs(t, err, postgres.ErrSchemaOutdated)
	require.NoError(t, postgres.Migrate(ctx, pool, postgres.WithSchema(schema)))
	s, err := postgres.New(ctx, pool, postgres.WithSchema(schema), postgres.WithMigrate(false))
	require.NoError(t, err)
	s.Close()
}

func TestInvalidOptions(t *testing.T) {
	ctx := context.Background()
	for _, opt := range []postgres.Option{
		postgres.WithSchema("Bad-Name"),
		postgres.WithTablePrefix("x y"),
		postgres.WithTablePrefix("a_prefix_much_longer_than_thirty_bytes_"),
		postgres.WithRevisionMaxAge(0),
		postgres.WithLogger(nil),
	} {
		_, err := postgres.Open(ctx, "postgres://127.0.0.1:1/none", opt)
		require.ErrorIs(t, err, postgres.ErrInvalidOption)
	}
}

// Two stores with pools of their own, as two replicas would have, share
// campaigns, users and the queue.
func TestStoresShareData(t *testing.T) {
	schema := testSchema(t)
	a := openStore(t, postgres.WithSchema(schema))
	b := openStore(t, postgres.WithSchema(schema))
	ctx := context.Background()
	const ns = "shared"

	rev0, err := b.Revision(ctx, ns)
	require.NoError(t, err)
	rec, err := a.UpdateCampaign(ctx, ns, "c", func(rec *store.CampaignRecord, _ bool) error {
		rec.Campaign, rec.State, rec.CreatedAt = rule.Campaign{ID: "c", Message: json.RawMessage(`{"z":1,"a":[2]}`)}, rule.Active, t0
		return nil
	})
	require.NoError(t, err)
	require.Greater(t, rec.Revision, rev0)
	require.Eventually(t, func() bool {
		rev, err := b.Revision(ctx, ns)
		return err == nil && rev == rec.Revision
	}, 5*time.Second, 5*time.Millisecond, "b sees a's revision")
	_, recs, err := b.Campaigns(ctx, ns)
	require.NoError(t, err)
	require.Len(t, recs, 1)
	require.Equal(t, `{"z":1,"a":[2]}`, string(recs[0].Campaign.Message), "the message is kept byte for byte")

	schedule(t, a, ns, "u", "d1", t0)
	got, err := b.User(ctx, ns, "u")
	require.NoError(t, err)
	require.Len(t, got.Pending, 1)
	claims, err := b.Claim(ctx, ns, t0, time.Minute, 10, 1)
	require.NoError(t, err)
	require.Len(t, claims, 1)
	none, err := a.Claim(ctx, ns, t0, time.Minute, 10, 2)
	require.NoError(t, err)
	require.Empty(t, none, "a sees b's lease")
}

// Claimers on two stores never share a live lease while updates run.
func TestClaimsAcrossStoresWithUpdates(t *testing.T) {
	schema := testSchema(t)
	stores := []store.Store{openStore(t, postgres.WithSchema(schema)), openStore(t, postgres.WithSchema(schema))}
	ctx := context.Background()
	const ns, deliveries = "race", 300
	for i := range deliveries {
		schedule(t, stores[i%2], ns, fmt.Sprintf("u%d", i%23), fmt.Sprintf("d%d", i), t0.Add(time.Duration(i)*time.Microsecond))
	}
	var (
		mu   sync.Mutex
		seen = map[string]int{}
		wg   sync.WaitGroup
	)
	for w := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := stores[w%2]
			for token := uint64(w*1000 + 1); ; token++ {
				claims, err := s.Claim(ctx, ns, t0.Add(time.Second), time.Hour, 5, token)
				if err != nil {
					t.Error(err)
					return
				}
				if len(claims) == 0 {
					return
				}
				for _, c := range claims {
					mu.Lock()
					seen[c.Pending.ID]++
					mu.Unlock()
					// Complete it, as the engine does: remove it under the
					// user's lock if the lease is still ours.
					err := s.Update(ctx, ns, c.UserID, t0.Add(time.Second), store.Dedup{}, func(u *store.UserState, _ bool) {
						if i := u.Find(c.Pending.ID); i >= 0 && u.Pending[i].Token == token {
							u.RemovePending(i)
							u.SetReceipt(store.Receipt{CampaignID: c.Pending.ID, At: t0})
						}
					})
					if err != nil {
						t.Error(err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	require.Len(t, seen, deliveries)
	for id, n := range seen {
		require.Equal(t, 1, n, "delivery %s claimed %d times", id, n)
	}
	st, err := stores[0].Stats(ctx, ns)
	require.NoError(t, err)
	require.Zero(t, st.Pending)
	require.EqualValues(t, 23, st.Users)
}

func TestNotifyAcrossStores(t *testing.T) {
	schema := testSchema(t)
	a := openStore(t, postgres.WithSchema(schema))
	b := openStore(t, postgres.WithSchema(schema))
	ctx := context.Background()
	const ns = "wake"
	ch, stop := b.Notify(ns)
	defer stop()
	other, stopOther := b.Notify("other")
	defer stopOther()

	schedule(t, a, ns, "u", "d1", t0.Add(time.Hour))
	waitFor(t, ch, 10*time.Second, "a new delivery on another store")

	// Ready earlier (a release) notifies too.
	require.NoError(t, a.Update(ctx, ns, "u", t0, store.Dedup{}, func(u *store.UserState, _ bool) {
		u.Pending[0].ReadyAt = t0
	}))
	waitFor(t, ch, 10*time.Second, "a delivery made ready earlier")
	select {
	case <-other:
		t.Fatal("a namespace with no change was notified")
	default:
	}
}

// The store notices its notification connection dying, reconnects, and
// wakes its subscribers (what was notified meanwhile is lost).
func TestListenerReconnects(t *testing.T) {
	schema := testSchema(t)
	ctx := context.Background()
	// The store's connections, its listener's included, go by a name of
	// their own.
	cfg, err := pgxpool.ParseConfig(testDSN(t))
	require.NoError(t, err)
	cfg.ConnConfig.RuntimeParams["application_name"] = schema
	spool, err := pgxpool.NewWithConfig(ctx, cfg)
	require.NoError(t, err)
	defer spool.Close()
	s, err := postgres.New(ctx, spool, postgres.WithSchema(schema), postgres.WithRevisionMaxAge(100*time.Millisecond))
	require.NoError(t, err)
	defer s.Close()
	ch, stop := s.Notify("ns")
	defer stop()
	pool := newPool(t)
	tag, err := pool.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1`, schema)
	require.NoError(t, err)
	require.GreaterOrEqual(t, tag.RowsAffected(), int64(1), "the listener's backend, at least")
	waitFor(t, ch, 10*time.Second, "wake-up after reconnecting")

	// Revisions still come through.
	other := openStore(t, postgres.WithSchema(schema))
	rec, err := other.UpdateCampaign(ctx, "ns", "c", func(rec *store.CampaignRecord, _ bool) error {
		rec.Campaign, rec.State = rule.Campaign{ID: "c"}, rule.Draft
		return nil
	})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		rev, err := s.Revision(ctx, "ns")
		return err == nil && rev == rec.Revision
	}, 5*time.Second, 5*time.Millisecond)
	schedule(t, other, "ns", "u", "d", t0)
	waitFor(t, ch, 10*time.Second, "a new delivery after reconnecting")
}

func TestCloseLeavesNoGoroutine(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	schema := testSchema(t)
	ctx := context.Background()
	s, err := postgres.Open(ctx, testDSN(t), postgres.WithSchema(schema))
	require.NoError(t, err)
	ch, stop := s.Notify("ns")
	schedule(t, s, "ns", "u", "d", t0)
	waitFor(t, ch, 10*time.Second, "own delivery")
	stop()
	s.Close()
	s.Close() // idempotent
	_, err = s.Revision(ctx, "ns")
	require.ErrorIs(t, err, store.ErrClosed)
	require.ErrorIs(t, s.Update(ctx, "ns", "u", t0, store.Dedup{}, func(*store.UserState, bool) {}), store.ErrClosed)

	// On a pool of the caller's, too.
	pool, err := pgxpool.New(ctx, testDSN(t))
	require.NoError(t, err)
	s2, err := postgres.New(ctx, pool, postgres.WithSchema(schema))
	require.NoError(t, err)
	schedule(t, s2, "ns", "v", "d", t0)
	s2.Close()
	pool.Close()
}

// Times keep what PostgreSQL can: ReadyAt to the microsecond, rounded
// down, compared with now rounded down; times inside documents exactly.
func TestTimePrecision(t *testing.T) {
	s := openStore(t, postgres.WithSchema(testSchema(t)))
	ctx := context.Background()
	const ns = "time"
	due := t0.Add(1500 * time.Nanosecond)
	schedule(t, s, ns, "u", "d", due)
	got, err := s.User(ctx, ns, "u")
	require.NoError(t, err)
	require.True(t, got.Pending[0].DueAt.Equal(due), "DueAt exact")
	require.True(t, got.Pending[0].ReadyAt.Equal(t0.Add(time.Microsecond)), "ReadyAt rounded down")
	require.True(t, got.Pending[0].Trigger.Time.Equal(due.Add(-time.Hour)), "event time exact")
	next, ok, err := s.NextDue(ctx, ns)
	require.NoError(t, err)
	require.True(t, ok)
	require.False(t, next.After(due), "never due later than asked")

	claims, err := s.Claim(ctx, ns, t0.Add(999*time.Nanosecond), time.Minute, 1, 1)
	require.NoError(t, err)
	require.Empty(t, claims, "not due in an earlier microsecond")
	claims, err = s.Claim(ctx, ns, due, time.Minute, 1, 1)
	require.NoError(t, err)
	require.Len(t, claims, 1, "due at its own time")

	// The interaction log orders events within a microsecond exactly.
	evs := []event.Event{
		{ID: "b", UserID: "u", Kind: event.SessionStart, Time: t0.Add(700 * time.Nanosecond)},
		{ID: "a", UserID: "u", Kind: event.SessionStart, Time: t0.Add(200 * time.Nanosecond)},
		{ID: "c", UserID: "u", Kind: event.SessionStart, Time: t0.Add(700 * time.Nanosecond)},
		{ID: "x", UserID: "u", Kind: event.SessionStart, Time: t0.Add(100 * time.Nanosecond)},
	}
	require.NoError(t, s.AppendInteractions(ctx, ns, evs, t0.Add(time.Hour)))
	var ids []string
	require.NoError(t, s.Interactions(ctx, ns, store.InteractionQuery{Since: t0.Add(150 * time.Nanosecond), Until: t0.Add(701 * time.Nanosecond)},
		func(ev event.Event) bool { ids = append(ids, ev.ID); return true }))
	require.Equal(t, []string{"a", "b", "c"}, ids)
}

// Properties keep their JSON numbers and nesting; strings survive what
// PostgreSQL's text types could not store raw.
func TestEventRoundTrip(t *testing.T) {
	s := openStore(t, postgres.WithSchema(testSchema(t)))
	ctx := context.Background()
	props := map[string]any{"price": json.Number("10.50"), "big": json.Number("12345678901234567890"),
		"nested": map[string]any{"list": []any{"a", json.Number("1"), true, nil}}, "nul": "a\x00b"}
	require.NoError(t, s.Update(ctx, "ns", "u", t0, store.Dedup{}, func(u *store.UserState, _ bool) {
		p := newPending("u", "f", "d", t0)
		p.Trigger.Properties = props
		u.Pending = append(u.Pending, p)
	}))
	got, err := s.User(ctx, "ns", "u")
	require.NoError(t, err)
	require.Equal(t, props, got.Pending[0].Trigger.Properties)
}

// Many deliveries over many users, interleaved: the user's order of
// deliveries is kept whatever is removed, inserted or reordered.
func TestPendingOrder(t *testing.T) {
	s := openStore(t, postgres.WithSchema(testSchema(t)))
	ctx := context.Background()
	ids := func() []string {
		u, err := s.User(ctx, "ns", "u")
		require.NoError(t, err)
		var out []string
		for _, p := range u.Pending {
			out = append(out, p.ID)
		}
		return out
	}
	update := func(fn func(u *store.UserState)) {
		require.NoError(t, s.Update(ctx, "ns", "u", t0, store.Dedup{}, func(u *store.UserState, _ bool) { fn(u) }))
	}
	update(func(u *store.UserState) {
		for _, id := range []string{"a", "b", "c"} {
			u.Pending = append(u.Pending, newPending("u", "f", id, t0))
		}
	})
	require.Equal(t, []string{"a", "b", "c"}, ids())
	update(func(u *store.UserState) {
		u.RemovePending(0)
		u.Pending = append(u.Pending[:1], append([]*store.Pending{newPending("u", "f", "x", t0)}, u.Pending[1:]...)...)
	})
	require.Equal(t, []string{"b", "x", "c"}, ids())
	update(func(u *store.UserState) { u.Pending[0], u.Pending[2] = u.Pending[2], u.Pending[0] })
	require.Equal(t, []string{"c", "x", "b"}, ids())
	update(func(u *store.UserState) { u.Pending = append(u.Pending, newPending("u", "f", "d", t0)) })
	require.Equal(t, []string{"c", "x", "b", "d"}, ids())
}

// Prune works in batches: more remembered IDs than one DELETE takes, more
// users than one locking transaction takes.
func TestPruneInBatches(t *testing.T) {
	s := openStore(t, postgres.WithSchema(testSchema(t)))
	ctx := context.Background()
	const users, events = 250, 1200
	for i := range events {
		user := fmt.Sprint("u", i%users)
		err := s.Update(ctx, "ns", user, t0, store.Dedup{EventID: fmt.Sprint("e", i), KeepUntil: t0.Add(time.Hour)},
			func(u *store.UserState, dup bool) {
				require.False(t, dup)
				if len(u.Sends) == 0 {
					u.Sends = append(u.Sends, store.Send{CampaignID: "c", At: t0, Expires: t0.Add(time.Hour)})
				}
			})
		require.NoError(t, err)
	}
	n, err := s.Prune(ctx, "ns", t0.Add(time.Hour-time.Nanosecond), t0)
	require.NoError(t, err)
	require.Zero(t, n)
	n, err = s.Prune(ctx, "ns", t0.Add(time.Hour), t0)
	require.NoError(t, err)
	require.Equal(t, events+users, n)
	st, err := s.Stats(ctx, "ns")
	require.NoError(t, err)
	require.Zero(t, st.Users)
}

// The interaction log reads in pages; events sharing a microsecond across
// a page boundary still come in exact time order, ties in append order.
func TestInteractionsInPages(t *testing.T) {
	s := openStore(t, postgres.WithSchema(testSchema(t)))
	ctx := context.Background()
	const n = 2500
	evs := make([]event.Event, n)
	for i := range evs {
		// Appended latest first, about three per microsecond, pairs tied.
		evs[i] = event.Event{ID: fmt.Sprint(i), UserID: "u", Kind: event.SessionStart,
			Time: t0.Add(time.Duration((n-1-i)/2*300) * time.Nanosecond)}
	}
	require.NoError(t, s.AppendInteractions(ctx, "ns", evs, t0.Add(time.Hour)))
	var got []string
	require.NoError(t, s.Interactions(ctx, "ns", store.InteractionQuery{}, func(ev event.Event) bool {
		got = append(got, ev.ID)
		return true
	}))
	require.Len(t, got, n)
	for k := 0; k < n; k += 2 {
		// The pair (i, i+1) with i = n-2-k shares a time: append order.
		i := n - 2 - k
		require.Equal(t, []string{fmt.Sprint(i), fmt.Sprint(i + 1)}, got[k:k+2], "position %d", k)
	}
	count := 0
	require.NoError(t, s.Interactions(ctx, "ns", store.InteractionQuery{}, func(event.Event) bool {
		count++
		return count < 1500
	}))
	require.Equal(t, 1500, count, "fn returning false stops the reading")
}
