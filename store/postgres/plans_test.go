package postgres

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

// The plans PostgreSQL caches for the statements of Update and
// UpdateBatch look rows up by index (or by ctid) even when they are made
// while the tables are tiny and analyzed as such, as they are when a
// store starts: a cached plan is made again only when the table is
// analyzed, and a sequential scan or a filter on the user ID chosen for
// three rows would read the whole table once it holds millions.
func TestCachedPlansLookUpByKeyWhateverTheTableSize(t *testing.T) {
	q, conn := planTables(t,
		`INSERT INTO {users} (ns, user_id, body, updated_at) SELECT '', 'u' || i, '\x01', now() FROM generate_series(1, 3) i`,
		`INSERT INTO {pending} (ns, user_id, id, campaign_id, seq, ready_at, due_at, token, body)
			SELECT '', 'u' || i, 'd', 'c', 0, now(), now(), 0, '\x01' FROM generate_series(1, 3) i`,
		`INSERT INTO {seen} (ns, user_id, event_id, keep_until) SELECT '', 'u' || i, 'e', now() FROM generate_series(1, 3) i`,
		`ANALYZE {users}`, `ANALYZE {pending}`, `ANALYZE {seen}`,
	)

	// The arguments as SQL literals: EXPLAIN EXECUTE takes no parameters.
	const (
		tids  = `'{"(0,1)","(0,2)"}'`
		times = `'{"2026-03-01 12:00:00+00","2026-03-01 12:00:00+00"}'`
		nulls = `'{NULL,NULL}'`
		blobs = `'{"\\x01","\\x01"}'`
		users = `'{u1,u2}'`
	)
	for _, c := range []struct {
		name, sql, args string
		want            []string // in the plan
	}{
		{"users of a batch", q.userSelectRows, "'', " + users, []string{"Index Cond: ((ns = $1) AND (user_id = k.id))"}},
		{"pending rows of a batch", q.pendingSelectRows, "'', " + users, []string{"Index Cond: ((ns = $1) AND (user_id = k.id))"}},
		{"a user", q.userSelect, "'', 'u1'", []string{"Index Cond: ((ns = $1) AND (user_id = $2))"}},
		{"a user's pending rows", q.pendingSelect, "'', 'u1'", []string{"Index Cond: ((ns = $1) AND (user_id = $2))"}},
		{"pending updates", q.pendingUpdateRows, tids + `, '{c,c}', '{0,0}', ` + times + ", " + times + `, '{0,0}', ` + blobs,
			[]string{"Tid Scan", "TID Cond: (ctid = x.tid)"}},
		{"pending deletes", q.pendingDeleteRows, tids, []string{"Tid Scan"}},
		{"user updates", q.userUpdateRows, tids + ", " + blobs + ", " + nulls + ", " + nulls + ", " + times,
			[]string{"Tid Scan", "TID Cond: (ctid = x.tid)"}},
		{"user deletes", q.userDeleteRows, tids, []string{"Tid Scan"}},
		{"event IDs of a batch", q.seenSelectRows, "'', " + users + ", '{e1,e2}'",
			[]string{"Index Cond: ((ns = $1) AND (user_id = k.u) AND (event_id = k.e))"}},
		{"an event ID", q.seenSelect, "'', 'u1', 'e1'", []string{"Index Cond: ((ns = $1) AND (user_id = $2) AND (event_id = $3))"}},
		{"event ID renewals", q.seenRenewRows, "'', " + users + ", '{e1,e2}', " + times,
			[]string{"Conflict Resolution: UPDATE", "Conflict Arbiter Indexes: campaignconnector_seen_pkey"}},
		{"a pending update", q.pendingUpdate, `'(0,1)', 'c', 0, '2026-03-01 12:00:00+00', '2026-03-01 12:00:00+00', 0, '\\x01'`, []string{"Tid Scan"}},
		{"the wake-up test of a batch", q.earlierRows, "'', '2026-03-01 12:00:00+00', " + users,
			[]string{"Index Scan Backward using campaignconnector_pending_ready", "Index Cond: ((ns = $1) AND (ready_at <= $2))"}},
		{"the wake-up test", q.earlier, "'', '2026-03-01 12:00:00+00', 'u1'",
			[]string{"Index Scan Backward using campaignconnector_pending_ready", "Index Cond: ((ns = $1) AND (ready_at <= $2))"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			plan := explainCached(t, conn, c.sql, c.args)
			for _, w := range c.want {
				require.Contains(t, plan, w)
			}
			for _, bad := range []string{"Seq Scan", "Bitmap", "Hash Join", "Merge Join", "Filter: (user_id = "} {
				require.NotContains(t, plan, bad)
			}
		})
	}
}

// Claim reads the due rows in index order, up to its limit, rather than
// all of them and sorting them, whatever the statistics say: on a table
// never analyzed (a new store, in its first minute), on one analyzed
// while it held three rows, and in the generic plan a connection caches.
// The statements explained are the ones Claim sends.
func TestClaimReadsTheReadyIndexInOrder(t *testing.T) {
	ctx := context.Background()
	fill := `INSERT INTO {pending} (ns, user_id, id, campaign_id, seq, ready_at, due_at, token, body)
		SELECT '', $1 || i, 'd', 'c', 0, now() - interval '1 minute', now(), 0, '\x01' FROM generate_series(1, 5000) i`
	for _, c := range []struct {
		name  string
		setup []string
	}{
		{"never analyzed", nil},
		{"analyzed when small", []string{
			`INSERT INTO {pending} (ns, user_id, id, campaign_id, seq, ready_at, due_at, token, body)
				SELECT '', 'u' || i, 'd', 'c', 0, now() + interval '1 hour', now(), 0, '\x01' FROM generate_series(1, 3) i`,
			`ANALYZE {pending}`,
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			q, conn := planTables(t, c.setup...)
			_, err := conn.Exec(ctx, q.r.Replace(fill), "v")
			require.NoError(t, err)
			s := &Store{q: q}
			at := time.Now()
			for _, limit := range []int{10, 256} { // 256: the engine's batch
				b := s.claimBatch("", at, limit, 1, at.Add(time.Minute))
				var sqls []string
				for _, qq := range b.QueuedQueries {
					sqls = append(sqls, qq.SQL)
				}
				require.Equal(t, []string{sqlBegin, sqlPlanByIndex, q.claim, "COMMIT"}, sqls)
				for _, generic := range []bool{false, true} {
					plan := explainBatch(t, conn, b, q.claim, generic)
					require.Contains(t, plan, "Index Scan using campaignconnector_pending_ready", plan)
					require.Contains(t, plan, "Tid Scan", plan)
					for _, bad := range []string{"Sort", "Bitmap", "Seq Scan"} {
						require.NotContains(t, plan, bad, plan)
					}
				}
			}
		})
	}
}

// literals writes args as SQL literals, for EXPLAIN EXECUTE.
func literals(t *testing.T, args []any) string {
	t.Helper()
	out := make([]string, len(args))
	for i, a := range args {
		switch v := a.(type) {
		case string:
			out[i] = "'" + strings.ReplaceAll(v, "'", "''") + "'"
		case time.Time:
			out[i] = "'" + v.Format(time.RFC3339Nano) + "'"
		case int, int64:
			out[i] = fmt.Sprint(v)
		default:
			t.Fatalf("no literal for %T", a)
		}
	}
	return strings.Join(out, ", ")
}

// explainBatch runs the statements of b in a transaction, but for the one
// whose SQL is explained, which it explains instead (with a generic plan
// forced if generic is set), and returns that plan.
func explainBatch(t *testing.T, conn *pgx.Conn, b *pgx.Batch, explained string, generic bool) string {
	t.Helper()
	ctx := context.Background()
	tx, err := conn.Begin(ctx)
	require.NoError(t, err)
	defer tx.Rollback(ctx)
	var plan []string
	for _, qq := range b.QueuedQueries {
		switch qq.SQL {
		case sqlBegin, "COMMIT":
		case explained:
			sql := "EXPLAIN " + qq.SQL
			if generic {
				_, err = tx.Exec(ctx, "SET LOCAL plan_cache_mode = force_generic_plan")
				require.NoError(t, err)
				sd, err := tx.Prepare(ctx, "explained", qq.SQL)
				require.NoError(t, err)
				defer tx.Conn().Deallocate(ctx, sd.Name)
				sql = "EXPLAIN EXECUTE explained(" + literals(t, qq.Arguments) + ")"
			}
			args := qq.Arguments
			if generic {
				args = nil // EXECUTE takes literals
			}
			rows, err := tx.Query(ctx, sql, append([]any{pgx.QueryExecModeExec}, args...)...)
			require.NoError(t, err)
			plan, err = pgx.CollectRows(rows, pgx.RowTo[string])
			require.NoError(t, err)
		default:
			_, err := tx.Exec(ctx, qq.SQL, qq.Arguments...)
			require.NoError(t, err)
		}
	}
	require.NotEmpty(t, plan, "the batch has no %q", explained)
	return strings.Join(plan, "\n")
}

// Prune's statements, prepared like every statement of the pool, read the
// expired rows from their indexes in a generic plan too, whatever the
// table size: a sequential scan stopping after a batch of rows reads the
// whole table when fewer have expired.
func TestCachedPlansOfPruneReadIndexes(t *testing.T) {
	q, conn := planTables(t,
		`INSERT INTO {users} (ns, user_id, body, expires_at, log_first, updated_at)
			SELECT '', 'u' || i, '\x01', now() + i * interval '1 minute', now() + i * interval '1 minute', now() FROM generate_series(1, 20000) i`,
		`INSERT INTO {seen} (ns, user_id, event_id, keep_until) SELECT '', 'u' || i, 'e', now() + i * interval '1 minute' FROM generate_series(1, 20000) i`,
		`ANALYZE {users}`, `ANALYZE {seen}`,
	)
	const now = "'2026-03-01 12:00:00+00'"
	for _, c := range []struct {
		name, sql, args string
		want            []string
	}{
		{"expired event IDs", q.pruneSeen, "'', " + now + ", 1000", []string{"Index Scan using campaignconnector_seen_keep_until"}},
		{"users to prune", q.pruneCandidates, "'', " + now + ", " + now + ", 1000, '{u1,u2}'",
			[]string{"Index Scan using campaignconnector_users_expires", "Index Scan using campaignconnector_users_log"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			plan := explainGeneric(t, conn, c.sql, c.args, "")
			for _, w := range c.want {
				require.Contains(t, plan, w, plan)
			}
			require.NotContains(t, plan, "Seq Scan", plan)
		})
	}
}

// planTables opens a store in a schema of its own, runs setup (its table
// names in braces) on a connection of the store's pool, and returns the
// store's statements and that connection, for EXPLAIN.
func planTables(t *testing.T, setup ...string) (*queries, *pgx.Conn) {
	t.Helper()
	ctx := context.Background()
	pool := internalPool(t)
	s, err := New(ctx, pool, WithSchema(internalSchema(t, pool)))
	require.NoError(t, err)
	t.Cleanup(s.Close)
	conn, err := pool.Acquire(ctx)
	require.NoError(t, err)
	t.Cleanup(conn.Release)
	for _, sql := range setup {
		_, err := conn.Exec(ctx, s.q.r.Replace(sql))
		require.NoError(t, err)
	}
	return s.q, conn.Conn()
}

// explainCached prepares sql in a transaction with the store's planner
// settings and a generic plan forced (the plan a connection caches after
// a few executions), and returns that plan for args (SQL literals) as
// EXPLAIN shows it.
func explainCached(tb testing.TB, conn *pgx.Conn, sql string, args string) string {
	tb.Helper()
	return explainGeneric(tb, conn, sql, args, sqlPlanByIndex)
}

// explainGeneric returns the generic plan of sql for args (SQL literals)
// as EXPLAIN shows it, prepared in a transaction that runs settings first
// (if not empty).
func explainGeneric(tb testing.TB, conn *pgx.Conn, sql, args, settings string) string {
	tb.Helper()
	ctx := context.Background()
	tx, err := conn.Begin(ctx)
	require.NoError(tb, err)
	defer tx.Rollback(ctx)
	for _, s := range []string{settings, "SET LOCAL plan_cache_mode = force_generic_plan"} {
		if s == "" {
			continue
		}
		_, err := tx.Exec(ctx, s)
		require.NoError(tb, err)
	}
	sd, err := tx.Prepare(ctx, "explained", sql)
	require.NoError(tb, err)
	defer tx.Conn().Deallocate(ctx, sd.Name)
	rows, err := tx.Query(ctx, "EXPLAIN EXECUTE explained("+args+")")
	require.NoError(tb, err)
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(tb, err)
	return strings.Join(lines, "\n")
}

// The wake-up test of an update that schedules a delivery reads few pages
// when thousands of delivered rows wait for vacuum below it, even while
// an old snapshot keeps them from being marked dead in the index (a long
// report, a backup, an ANALYZE of a large table): it reads the ready
// index down from the new delivery's time, where the deliveries scheduled
// just before wait.
func TestWakeUpTestSkipsDeliveredRows(t *testing.T) {
	ctx := context.Background()
	pool := internalPool(t)
	schema := internalSchema(t, pool)
	s, err := New(ctx, pool, WithSchema(schema))
	require.NoError(t, err)
	defer s.Close()

	old, err := pool.Begin(ctx) // holds a snapshot from before the deliveries
	require.NoError(t, err)
	defer old.Rollback(ctx)
	_, err = old.Exec(ctx, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
	require.NoError(t, err)
	_, err = old.Exec(ctx, "SELECT 1")
	require.NoError(t, err)

	due := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	_, err = pool.Exec(ctx, s.q.r.Replace(`INSERT INTO {pending} (ns, user_id, id, campaign_id, seq, ready_at, due_at, token, body)
		SELECT '', 'u' || i, 'd', 'c', 0, $1, $1, 0, '\x01' FROM generate_series(1, 3000) i`), due)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, s.q.r.Replace(`DELETE FROM {pending}`)) // delivered
	require.NoError(t, err)
	for _, r := range []struct {
		user string
		at   time.Time
	}{{"waiting", due.Add(30 * time.Minute)}, {"new", due.Add(time.Hour)}} {
		_, err = pool.Exec(ctx, s.q.r.Replace(`INSERT INTO {pending} (ns, user_id, id, campaign_id, seq, ready_at, due_at, token, body)
			VALUES ('', $1, 'd', 'c', 0, $2, $2, 0, '\x01')`), r.user, r.at)
		require.NoError(t, err)
	}

	for _, c := range []struct {
		sql  string
		args []any
	}{
		{s.q.earlier, []any{"", due.Add(time.Hour), "new"}},
		{s.q.earlierRows, []any{"", due.Add(time.Hour), []string{"new"}}},
	} {
		tx, err := pool.Begin(ctx)
		require.NoError(t, err)
		_, err = tx.Exec(ctx, sqlPlanByIndex)
		require.NoError(t, err)
		var earlier bool
		require.NoError(t, tx.QueryRow(ctx, c.sql, c.args...).Scan(&earlier))
		require.True(t, earlier, "another user's delivery is due earlier")
		var plan []map[string]any
		require.NoError(t, tx.QueryRow(ctx, "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) "+c.sql, c.args...).Scan(&plan))
		require.NoError(t, tx.Rollback(ctx))
		top := plan[0]["Plan"].(map[string]any)
		pages := top["Shared Hit Blocks"].(float64) + top["Shared Read Blocks"].(float64)
		require.Less(t, pages, 10.0, "pages read: %v", plan)
	}
}

// The tallies of some campaigns, which the dashboard reads for the
// follow-ups it shows, come from a range of the campaign index per
// campaign, in the generic plan and in custom ones, rather than from the
// primary key's range of hours, which holds every campaign's tallies.
// (Before its first ANALYZE, a table counts as a few pages, and any plan
// reads it fast.)
func TestTalliesOfCampaignsReadTheCampaignIndex(t *testing.T) {
	q, conn := planTables(t,
		`INSERT INTO {tallies} (ns, hour, campaign_id, kind, reason, rule, n)
			SELECT '', timestamptz '2026-03-01 12:00+00' - h * interval '1 hour', 'c' || c, 'delivered', '', '', 1
			FROM generate_series(0, 199) h, generate_series(0, 99) c`,
		`ANALYZE {tallies}`)
	ctx := context.Background()
	rows, err := conn.Query(ctx, "EXPLAIN "+q.talliesOf, pgx.QueryExecModeExec,
		"", time.Date(2026, 2, 22, 13, 0, 0, 0, time.UTC), time.Date(2026, 3, 1, 13, 0, 0, 0, time.UTC), []string{"c1", "c7", "c42"})
	require.NoError(t, err)
	custom, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	generic := explainGeneric(t, conn, q.talliesOf, `'', '2026-02-22 13:00+00', '2026-03-01 13:00+00', '{c1,c7,c42}'`, "")
	for _, plan := range []string{strings.Join(custom, "\n"), generic} {
		require.Contains(t, plan, "campaignconnector_tallies_campaign", plan)
		require.Contains(t, plan, "campaign_id = ANY", plan)
		require.NotContains(t, plan, "Seq Scan", plan)
	}
}

// bigAndSmallFollowUps fills the pending table with 50,000 deliveries, one
// a second, of two follow-ups: "small" holds every hundredth, "big" the
// rest.
const bigAndSmallFollowUps = `INSERT INTO {pending} (ns, user_id, id, campaign_id, seq, ready_at, due_at, token, body)
	SELECT '', 'u' || i, 'd' || i, CASE WHEN i % 100 = 0 THEN 'small' ELSE 'big' END, 0,
		now() + i * interval '1 second', now() + i * interval '1 second', 0, '\x01'
	FROM generate_series(1, 50000) i`

// A follow-up's bounded pending count, which the dashboard makes for each
// follow-up it shows, reads the follow-up's range of the index on (ns,
// campaign_id, due_at, id) and stops at its bound, in the generic plan
// (made here for a table of two follow-ups, so for one with half the
// rows) and in custom ones, for a follow-up with most of the table's
// deliveries and for one with few (whose rows the plan may read all of,
// fewer than the bound): never a scan of the table, which for the
// follow-up with few would read all of it.
func TestCampaignPendingCountStopsAtItsLimit(t *testing.T) {
	q, conn := planTables(t,
		bigAndSmallFollowUps, `VACUUM ANALYZE {pending}`)
	ctx := context.Background()
	for _, id := range []string{"big", "small"} {
		rows, err := conn.Query(ctx, "EXPLAIN "+q.campaignPendingCount, pgx.QueryExecModeExec, "", id, int64(10001))
		require.NoError(t, err)
		custom, err := pgx.CollectRows(rows, pgx.RowTo[string])
		require.NoError(t, err)
		generic := explainGeneric(t, conn, q.campaignPendingCount, "'', '"+id+"', 10001", "")
		for _, plan := range []string{strings.Join(custom, "\n"), generic} {
			lines := strings.Split(plan, "\n")
			require.GreaterOrEqual(t, len(lines), 3, plan)
			require.Contains(t, lines[1], "->  Limit", plan) // over the scan, under the count
			require.Contains(t, plan, "campaignconnector_pending_due", plan)
			require.NotContains(t, plan, "Seq Scan", plan)
		}
	}
}

// CancelCampaignBatch reads the keys of a batch in order from the index
// on (ns, campaign_id, due_at, id), from the cursor on, up to its limit
// (never the whole follow-up, sorted), and looks the rows it locks up by
// their key, one key at a time, locking each as it finds it (in the
// order of the keys, which the store makes (user, seq), as Update locks
// them), both in the plan a connection caches.
func TestCancelCampaignBatchReadsTheDueIndexInOrder(t *testing.T) {
	q, conn := planTables(t,
		bigAndSmallFollowUps, `VACUUM ANALYZE {pending}`)
	for _, id := range []string{"big", "small"} {
		plan := explainCached(t, conn, q.cancelBatchKeys, "'', '"+id+"', '2026-03-01 12:00:00+00', 'd7', 1000")
		lines := strings.Split(plan, "\n")
		require.Contains(t, lines[0], "Limit", plan)
		require.Contains(t, plan, "Index Scan using campaignconnector_pending_due", plan)
		require.Contains(t, plan, `Index Cond: ((ns = $1) AND (campaign_id = $2) AND (ROW(due_at, id) > ROW($3, $4)))`, plan)
		require.NotContains(t, plan, "Sort", plan)
		require.NotContains(t, plan, "Seq Scan", plan)
	}
	plan := explainCached(t, conn, q.cancelBatchLock, "'', '{u1,u2}', '{d1,d2}', 'big'")
	lines := strings.Split(plan, "\n")
	require.GreaterOrEqual(t, len(lines), 8, plan)
	require.Contains(t, lines[0], "Sort", plan)
	require.Contains(t, lines[1], `Sort Key: p.user_id COLLATE "C", p.seq`, plan)
	require.Contains(t, lines[2], "Nested Loop", plan)
	require.Contains(t, lines[3], "Function Scan on k", plan) // the outer side: rows are locked in the keys' order
	require.Contains(t, lines[4], "Subquery Scan on p", plan)
	require.Contains(t, lines[6], "LockRows", plan)
	require.Contains(t, lines[7], "Index Scan using campaignconnector_pending_pkey", plan)
	require.Contains(t, plan, "Index Cond: ((ns = $1) AND (user_id = k.u) AND (id = k.i))", plan)
	for _, bad := range []string{"Seq Scan", "Bitmap", "Hash Join", "Merge Join"} {
		require.NotContains(t, plan, bad, plan)
	}
}

// CancelCampaignBatch looks the rows of a batch up by primary key however
// stale the statistics: analyzed while the follow-up held few rows (or
// none), then filled before autovacuum analyzes it again, the table has
// the planner expect a handful of the follow-up's rows, for which reading
// them all from the index on (ns, campaign_id, due_at, id) and matching
// each key of the batch against them looks cheap; with a hundred thousand
// rows that read takes seconds per batch (a thousand keys times the
// follow-up's rows). Both in a custom plan, with the batch's thousand
// keys, and in the generic plan a connection caches.
func TestCancelCampaignBatchLooksRowsUpByKeyWithStaleStatistics(t *testing.T) {
	q, conn := planTables(t,
		`ALTER TABLE {pending} SET (autovacuum_enabled = false)`,
		`INSERT INTO {pending} (ns, user_id, id, campaign_id, seq, ready_at, due_at, token, body)
			SELECT '', 'u' || i, 'd' || i, 'c' || (i % 1000), 0, now(), now() + i * interval '1 second', 0, '\x01'
			FROM generate_series(1, 3000) i`,
		`ANALYZE {pending}`,
		`INSERT INTO {pending} (ns, user_id, id, campaign_id, seq, ready_at, due_at, token, body)
			SELECT '', 'v' || i, 'e' || i, 'stop', 0, now(), now() + i * interval '1 second', 0, '\x01'
			FROM generate_series(1, 20000) i`)
	ctx := context.Background()
	users, ids := make([]string, 1000), make([]string, 1000)
	for i := range users {
		users[i], ids[i] = fmt.Sprintf("v%d", 10001+i), fmt.Sprintf("e%d", 10001+i)
	}
	tx, err := conn.Begin(ctx)
	require.NoError(t, err)
	defer tx.Rollback(ctx)
	_, err = tx.Exec(ctx, sqlPlanByIndex)
	require.NoError(t, err)
	rows, err := tx.Query(ctx, "EXPLAIN "+q.cancelBatchLock, pgx.QueryExecModeExec, "", users, ids, "stop")
	require.NoError(t, err)
	custom, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.NoError(t, tx.Rollback(ctx))
	generic := explainCached(t, conn, q.cancelBatchLock,
		"'', '{"+strings.Join(users, ",")+"}', '{"+strings.Join(ids, ",")+"}', 'stop'")
	for _, plan := range []string{strings.Join(custom, "\n"), generic} {
		require.Contains(t, plan, "Index Scan using campaignconnector_pending_pkey", plan)
		for _, bad := range []string{"campaignconnector_pending_due", "Materialize", "Seq Scan", "Bitmap", "Hash Join", "Merge Join"} {
			require.NotContains(t, plan, bad, plan)
		}
	}
}
