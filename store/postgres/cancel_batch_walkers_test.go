package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/internal/batchcursor"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/campaignconnector/campaignconnector/store/postgres"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
)

// walkersSetup schedules deliveries of follow-up f for a user whose lock
// key comes before bob's (returned), bob, cat and dan, due in that order,
// and holds the first batch of a walk from after the first user's
// delivery, with a limit of 2 (bob's and cat's), between the users'
// advisory locks and their rows: a transaction of the test holds bob's
// row. It returns the first user, the held batch's result channel and
// backend, and a release of the holder.
func walkersSetup(t *testing.T, schema string, walker *postgres.Store, pool *pgxpool.Pool) (
	first string, held <-chan batchResult, heldPID int32, release func()) {
	ctx := context.Background()
	for i := 0; ; i++ {
		first = fmt.Sprintf("ann%d", i)
		if postgres.UserLock(walker, "ns", first) < postgres.UserLock(walker, "ns", "bob") {
			break
		}
	}
	for i, user := range []string{first, "bob", "cat", "dan"} {
		schedule(t, walker, "ns", user, "d-"+user, t0.Add(time.Duration(i)*time.Second))
	}
	holder, err := pool.Begin(ctx)
	require.NoError(t, err)
	t.Cleanup(func() { holder.Rollback(ctx) })
	var holderPID int32
	require.NoError(t, holder.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&holderPID))
	_, err = holder.Exec(ctx, `SELECT 1 FROM `+tableIn(schema, "pending")+` WHERE user_id = 'bob' FOR UPDATE`)
	require.NoError(t, err)

	after := batchcursor.Encode("postgres", "ns", "f", batchcursor.Key{Kind: 't', N: t0.UnixMicro(), ID: "d-" + first})
	ch := make(chan batchResult, 1)
	go func() {
		removed, next, err := walker.CancelCampaignBatch(ctx, "ns", "f", after, 2)
		ch <- batchResult{ids(removed), next, err}
	}()
	heldPID = waitBlocked(t, pool, holderPID)
	return first, ch, heldPID, func() { require.NoError(t, holder.Rollback(ctx)) }
}

type batchResult struct {
	ids  []string
	next string
	err  error
}

func ids(claims []store.Claim) []string {
	var out []string
	for _, c := range claims {
		out = append(out, c.Pending.ID)
	}
	return out
}

// advisoryLocks counts the advisory locks backend pid holds (granted) or
// waits for, of one 64-bit key (the users') or two 32-bit keys (the
// campaigns' cancellation locks).
func advisoryLocks(t *testing.T, pool *pgxpool.Pool, pid int32, granted bool, twoKeys bool) int {
	t.Helper()
	subid := 1
	if twoKeys {
		subid = 2
	}
	var n int
	require.NoError(t, pool.QueryRow(context.Background(), `SELECT count(*) FROM pg_locks
		WHERE pid = $1 AND locktype = 'advisory' AND granted = $2 AND objsubid = $3`, pid, granted, subid).Scan(&n))
	return n
}

// Two walks of the same follow-up (two engines stopping it at once) take
// their batches in turn: while one walk's batch is held (between its
// users' advisory locks and their rows), the other's batch waits for it
// holding no user's lock, so that an update of a user the held batch
// does not have goes on; it then reads the rows the first left, and the
// two walks remove each delivery once between them. Without the
// campaign's lock, the second batch would read its keys at once (the
// first user's and bob's), take the first user's lock and wait for bob's,
// and the first user's update would wait for both batches.
func TestCancelCampaignBatchWalksOfOneFollowUpTakeTurns(t *testing.T) {
	schema := testSchema(t)
	a := openStore(t, postgres.WithSchema(schema))
	b := openStore(t, postgres.WithSchema(schema))
	pool := newPool(t)
	ctx := context.Background()
	first, heldA, aPID, release := walkersSetup(t, schema, a, pool)

	walkedB := make(chan batchResult, 1)
	go func() {
		removed, next, err := b.CancelCampaignBatch(ctx, "ns", "f", "", 2)
		walkedB <- batchResult{ids(removed), next, err}
	}()
	bPID := waitBlocked(t, pool, aPID)
	require.Equal(t, 1, advisoryLocks(t, pool, bPID, false, true), "the second batch waits for the campaign's lock")
	require.Zero(t, advisoryLocks(t, pool, bPID, true, false), "the second batch holds users' locks while it waits for the first")
	require.NoError(t, b.Update(ctx, "ns", first, t0, store.Dedup{}, func(u *store.UserState, _ bool) {
		u.Sends = append(u.Sends, store.Send{CampaignID: "c", At: t0, Expires: t0.Add(time.Hour)})
	}), "an update of a user the held batch does not have")

	release()
	ra := <-heldA
	require.NoError(t, ra.err)
	require.Equal(t, []string{"d-bob", "d-cat"}, ra.ids)
	require.NotEmpty(t, ra.next, "a batch as long as its limit may not be the last")
	rb := <-walkedB
	require.NoError(t, rb.err)
	require.Equal(t, []string{"d-" + first, "d-dan"}, rb.ids, "the second batch reads its keys once the first's are gone")
	require.NotEmpty(t, rb.next)
	for _, w := range []struct {
		s      *postgres.Store
		cursor string
	}{{a, ra.next}, {b, rb.next}} {
		removed, next, err := w.s.CancelCampaignBatch(ctx, "ns", "f", w.cursor, 2)
		require.NoError(t, err)
		require.Empty(t, removed)
		require.Empty(t, next)
	}
	st, err := a.Stats(ctx, "ns")
	require.NoError(t, err)
	require.Zero(t, st.Pending)
}

// CancelCampaign waits for a batch of a walk of the same follow-up before
// it locks any row: locking the rows of the users the batch has not
// reached (here the first user's), then waiting for the batch's (bob's),
// it would hold up those users' updates for as long as the batch lasts.
func TestCancelCampaignWaitsForABatchOfTheSameFollowUp(t *testing.T) {
	schema := testSchema(t)
	a := openStore(t, postgres.WithSchema(schema))
	b := openStore(t, postgres.WithSchema(schema))
	pool := newPool(t)
	ctx := context.Background()
	first, heldA, aPID, release := walkersSetup(t, schema, a, pool)

	cancelled := make(chan batchResult, 1)
	go func() {
		removed, err := b.CancelCampaign(ctx, "ns", "f")
		cancelled <- batchResult{ids: ids(removed), err: err}
	}()
	cPID := waitBlocked(t, pool, aPID)
	require.Equal(t, 1, advisoryLocks(t, pool, cPID, false, true), "CancelCampaign waits for the campaign's lock")
	updated := make(chan error, 1)
	go func() {
		updated <- b.Update(ctx, "ns", first, t0, store.Dedup{}, func(u *store.UserState, _ bool) {
			u.Sends = append(u.Sends, store.Send{CampaignID: "c", At: t0, Expires: t0.Add(time.Hour)})
		})
	}()
	for done := false; !done; {
		select {
		case err := <-updated:
			require.NoError(t, err)
			done = true
		default:
			var blocked bool
			require.NoError(t, pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE $1::int4 = ANY(pg_blocking_pids(pid)))`,
				cPID).Scan(&blocked))
			require.False(t, blocked, "an update of a user the batch does not have waits for CancelCampaign")
		}
	}

	release()
	ra := <-heldA
	require.NoError(t, ra.err)
	require.Equal(t, []string{"d-bob", "d-cat"}, ra.ids)
	rc := <-cancelled
	require.NoError(t, rc.err)
	require.ElementsMatch(t, []string{"d-" + first, "d-dan"}, rc.ids)
}

// A batch locks a user's rows in seq order, the order Update and
// CancelCampaign lock them in, whatever their due order: here d-y falls
// due before d-x but comes after it in seq, and while a transaction
// locking rows alone (as CancelCampaign does, without the user's advisory
// lock: one of a process of an earlier version) holds d-y, the batch
// holds d-x and waits for d-y, rather than wait for d-y holding nothing
// and lock d-x after it (the other order, which deadlocks with such a
// transaction waiting for d-x).
func TestCancelCampaignBatchLocksAUsersRowsInSeqOrder(t *testing.T) {
	schema := testSchema(t)
	s := openStore(t, postgres.WithSchema(schema))
	pool := newPool(t)
	ctx := context.Background()
	schedule(t, s, "ns", "ann", "d-x", t0.Add(2*time.Second))
	schedule(t, s, "ns", "ann", "d-y", t0.Add(time.Second))
	pending := tableIn(schema, "pending")
	var seqX, seqY int
	require.NoError(t, pool.QueryRow(ctx, `SELECT max(seq) FILTER (WHERE id = 'd-x'), max(seq) FILTER (WHERE id = 'd-y') FROM `+pending).
		Scan(&seqX, &seqY))
	require.Less(t, seqX, seqY, "d-x comes first in seq, second in due order")

	holder, err := pool.Begin(ctx)
	require.NoError(t, err)
	defer holder.Rollback(ctx)
	var holderPID int32
	require.NoError(t, holder.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&holderPID))
	_, err = holder.Exec(ctx, `SELECT 1 FROM `+pending+` WHERE id = 'd-y' FOR UPDATE`)
	require.NoError(t, err)
	done := make(chan batchResult, 1)
	go func() {
		removed, next, err := s.CancelCampaignBatch(ctx, "ns", "f", "", 10)
		done <- batchResult{ids(removed), next, err}
	}()
	waitBlocked(t, pool, holderPID)

	probe, err := pool.Begin(ctx)
	require.NoError(t, err)
	defer probe.Rollback(ctx)
	_, err = probe.Exec(ctx, `SELECT 1 FROM `+pending+` WHERE id = 'd-x' FOR UPDATE NOWAIT`)
	var pe *pgconn.PgError
	require.ErrorAs(t, err, &pe, "the batch holds d-x while it waits for d-y")
	require.Equal(t, "55P03", pe.Code) // lock_not_available
	require.NoError(t, probe.Rollback(ctx))

	require.NoError(t, holder.Rollback(ctx))
	r := <-done
	require.NoError(t, r.err)
	require.ElementsMatch(t, []string{"d-x", "d-y"}, r.ids)
}
