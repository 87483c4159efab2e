package postgres_test

import (
	"context"
	"log/slog"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/internal/batchcursor"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/campaignconnector/campaignconnector/store/postgres"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
)

// CancelCampaignBatch, walked with batches of one, removes the deliveries
// it can read and leaves one it cannot (a newer version's), logged, as
// CancelCampaign does: the walk goes past it.
func TestCancelCampaignBatchLeavesADeliveryItCannotReadToOthers(t *testing.T) {
	schema := testSchema(t)
	var log syncLog
	s := openStore(t, postgres.WithSchema(schema), postgres.WithLogger(slog.New(slog.NewTextHandler(&log, nil))))
	ctx := context.Background()
	schedule(t, s, "ns", "ann", "d-ann", t0)
	schedule(t, s, "ns", "bob", "d-bob", t0.Add(time.Second))
	schedule(t, s, "ns", "cat", "d-cat", t0.Add(2*time.Second))
	makeUnreadable(t, s, schema, "bob")

	var ids []string
	cursor := ""
	for calls := 1; ; calls++ {
		require.LessOrEqual(t, calls, 4, "the walk does not end")
		removed, next, err := s.CancelCampaignBatch(ctx, "ns", "f", cursor, 1)
		require.NoError(t, err, "one unreadable delivery fails the stop of its campaign")
		for _, c := range removed {
			ids = append(ids, c.Pending.ID)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	require.Equal(t, []string{"d-ann", "d-cat"}, ids, "in due order")
	require.Contains(t, log.String(), "d-bob")
	st, err := s.Stats(ctx, "ns")
	require.NoError(t, err)
	require.EqualValues(t, 1, st.Pending, "the unreadable delivery stays in the queue")
}

// A walk goes on from its cursor in due order, and a batch as long as its
// limit is not taken for the last (the cursors' checks are the
// conformance suite's).
func TestCancelCampaignBatchGoesOnFromItsCursor(t *testing.T) {
	s := openStore(t, postgres.WithSchema(testSchema(t)))
	ctx := context.Background()
	schedule(t, s, "ns", "ann", "d-ann", t0)
	schedule(t, s, "ns", "bob", "d-bob", t0.Add(time.Second))
	_, cursor, err := s.CancelCampaignBatch(ctx, "ns", "f", "", 1)
	require.NoError(t, err)
	require.NotEmpty(t, cursor)
	removed, next, err := s.CancelCampaignBatch(ctx, "ns", "f", cursor, 1)
	require.NoError(t, err)
	require.Len(t, removed, 1)
	require.Equal(t, "d-bob", removed[0].Pending.ID)
	require.NotEmpty(t, next, "a batch as long as its limit may not be the last")
	removed, next, err = s.CancelCampaignBatch(ctx, "ns", "f", next, 1)
	require.NoError(t, err)
	require.Empty(t, removed)
	require.Empty(t, next)
}

// waitBlocked waits until a backend other than those of skip waits for a
// lock that backend pid holds, and returns its pid.
func waitBlocked(t *testing.T, pool *pgxpool.Pool, pid int32, skip ...int32) int32 {
	t.Helper()
	skip = append([]int32{}, skip...) // not NULL
	for {
		var blocked int32
		err := pool.QueryRow(context.Background(), `SELECT pid FROM pg_stat_activity
			WHERE $1 = ANY(pg_blocking_pids(pid)) AND pid <> ALL($2::int4[]) LIMIT 1`, pid, skip).Scan(&blocked)
		if err == nil {
			return blocked
		}
		require.ErrorIs(t, err, pgx.ErrNoRows)
		runtime.Gosched()
	}
}

// A batch of the walk and an UpdateBatch over the same users, which locks
// their rows in its own order (here "bob" before "ann"), do not deadlock:
// the batch takes the users' advisory locks, in key order, before their
// rows, as UpdateBatch does. The batch is held between ann's row and
// bob's (by a transaction holding "ben"'s) while the UpdateBatch starts:
// locking rows alone, the batch would hold ann's and wait for bob's,
// which the UpdateBatch would hold, waiting for ann's; PostgreSQL would
// break the cycle after deadlock_timeout (1 s by default) by aborting
// one, to be run again.
func TestCancelCampaignBatchDoesNotDeadlockWithUpdateBatch(t *testing.T) {
	schema := testSchema(t)
	s := openStore(t, postgres.WithSchema(schema))
	ctx := context.Background()
	for i, user := range []string{"ann", "ben", "bob"} {
		schedule(t, s, "ns", user, "d-"+user, t0.Add(time.Duration(i)*time.Second))
	}
	pool := newPool(t)
	holder, err := pool.Begin(ctx)
	require.NoError(t, err)
	defer holder.Rollback(ctx)
	var holderPID int32
	require.NoError(t, holder.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&holderPID))
	_, err = holder.Exec(ctx, `SELECT 1 FROM `+tableIn(schema, "pending")+` WHERE user_id = 'ben' FOR UPDATE`)
	require.NoError(t, err)

	type result struct {
		removed []store.Claim
		err     error
	}
	walked := make(chan result, 1)
	go func() {
		removed, _, err := s.CancelCampaignBatch(ctx, "ns", "f", "", 10)
		walked <- result{removed, err}
	}()
	batchPID := waitBlocked(t, pool, holderPID)

	var calls atomic.Int32
	ops := []store.Op{{UserID: "bob", Now: t0}, {UserID: "ann", Now: t0}}
	for i := range ops {
		ops[i].Fn = func(u *store.UserState, _ bool) { calls.Add(1) }
	}
	updated := make(chan error, 1)
	go func() { updated <- s.UpdateBatch(ctx, "ns", ops) }()
	updatePID := waitBlocked(t, pool, batchPID, holderPID)
	require.NoError(t, holder.Rollback(ctx))

	// Until both end, neither waits for the other (PostgreSQL would
	// break such a cycle after deadlock_timeout, aborting one).
	var (
		r         result
		updateErr error
	)
	for walking, updating := true, true; walking || updating; {
		select {
		case r = <-walked:
			walking = false
		case updateErr = <-updated:
			updating = false
		default:
			var cycle bool
			require.NoError(t, pool.QueryRow(ctx, `SELECT $1::int4 = ANY(pg_blocking_pids($2)) AND $2::int4 = ANY(pg_blocking_pids($1))`,
				batchPID, updatePID).Scan(&cycle))
			require.False(t, cycle, "the batch and the UpdateBatch wait for each other: a deadlock")
		}
	}
	require.NoError(t, updateErr)
	require.NoError(t, r.err)
	require.Len(t, r.removed, 3)
	require.EqualValues(t, 2, calls.Load())
}

// sqliteCursor returns the cursor store/sqlite's CancelCampaignBatch
// makes for a delivery due at due: the same shape as this store's, its
// time in nanoseconds.
func sqliteCursor(ns, campaignID, id string, due time.Time) string {
	return batchcursor.Encode("sqlite", ns, campaignID, batchcursor.Key{Kind: 't', N: due.UnixNano(), ID: id})
}

// A cursor of the SQLite store, of the same shape, is refused: read as
// microseconds, its nanoseconds would put the walk 57,000 years on, past
// every delivery, and end it with nothing removed.
func TestCancelCampaignBatchRefusesAnotherStoresCursor(t *testing.T) {
	s := openStore(t, postgres.WithSchema(testSchema(t)))
	ctx := context.Background()
	schedule(t, s, "ns", "ann", "d-ann", t0)
	schedule(t, s, "ns", "bob", "d-bob", t0.Add(time.Second))
	removed, next, err := s.CancelCampaignBatch(ctx, "ns", "f", sqliteCursor("ns", "f", "d-ann", t0), 10)
	require.ErrorIs(t, err, store.ErrInvalidQuery, "removed %v, next %q", removed, next)
	st, err := s.Stats(ctx, "ns")
	require.NoError(t, err)
	require.EqualValues(t, 2, st.Pending)
}
