package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/campaignconnector/campaignconnector/store"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
)

const (
	// Batched deletes: at most $3 rows per statement, so no statement
	// holds many locks or runs long. Each reads the expired rows in the
	// order of its index on (ns, expiry): the statements are prepared, and
	// a generic plan, blind to $2, would otherwise pick a sequential scan
	// that stops after $3 rows, which reads the whole table when fewer
	// have expired (as on every call's last statement).
	sqlPruneSeen = `DELETE FROM {seen} WHERE ctid = ANY(ARRAY(
		SELECT ctid FROM {seen} WHERE ns = $1 AND keep_until <= $2 ORDER BY keep_until LIMIT $3))`
	sqlPruneInteractions = `DELETE FROM {interactions} WHERE ctid = ANY(ARRAY(
		SELECT ctid FROM {interactions} WHERE ns = $1 AND keep_until <= $2 ORDER BY keep_until LIMIT $3))`
	sqlPruneCounters = `DELETE FROM {counters} WHERE ns = $1 AND expires <= $2`
	// A user found with nothing to prune has keys earlier than its
	// state: they are set from the state.
	sqlPruneRekey = `UPDATE {users} SET expires_at = $2, log_first = $3 WHERE ctid = $1`
	// A user whose state this version cannot read has its look-up keys
	// moved past $2 and $3 (by pruneRetry), body untouched: the look-up
	// finds it again only then.
	sqlPrunePostpone = `UPDATE {users} SET
		expires_at = CASE WHEN expires_at <= $2 THEN $4 ELSE expires_at END,
		log_first = CASE WHEN log_first <= $3 THEN $5 ELSE log_first END
		WHERE ns = $1 AND user_id = ANY($6::text[])`
	// Users with something to prune, found by the columns Update keeps
	// (rounded down: the look-up may find a few with nothing to prune yet),
	// each read in the order of its partial index, for the same reason.
	// $5 lists the users this Prune has read and found nothing to prune
	// in yet, so that the next batch reads past them.
	sqlPruneCandidates = `(SELECT user_id FROM {users} WHERE ns = $1 AND expires_at <= $2 AND user_id <> ALL($5::text[]) ORDER BY expires_at LIMIT $4)
		UNION (SELECT user_id FROM {users} WHERE ns = $1 AND log_first <= $3 AND user_id <> ALL($5::text[]) ORDER BY log_first LIMIT $4)
		LIMIT $4`
)

const (
	pruneBatch = 1000
	// pruneLockBatch bounds the users pruned in one transaction: each
	// holds an advisory lock, and those live in PostgreSQL's shared lock
	// table (max_locks_per_transaction × max_connections entries).
	pruneLockBatch = 100
	// pruneRetry is how long Prune leaves a user whose state this version
	// cannot read (damaged, or written by a newer version) before it reads
	// it again: it is logged once per retry, not at every call, and
	// however many such users there are, the look-up reads past them.
	pruneRetry = time.Hour
)

// Prune implements [store.Store.Prune]. Remembered event IDs, counters and
// logged interactions go with batched DELETEs; users with expired state
// are found by index, then pruned in Go with [store.UserState.Prune], in
// batches, each under the users' locks. Each batch commits on its own: a
// Prune that fails part way keeps what it removed, and the next one goes
// on from there.
func (s *Store) Prune(ctx context.Context, ns string, now, logBefore time.Time) (int, error) {
	if err := s.begin(ctx); err != nil {
		return 0, err
	}
	removed := 0
	floorNow := floorTime(now)
	for _, sql := range []string{s.q.pruneSeen, s.q.pruneInteractions} {
		for {
			tag, err := s.execCommitted(ctx, sql, ns, floorNow, pruneBatch)
			if err != nil {
				return removed, wrap("prune", err)
			}
			removed += int(tag.RowsAffected())
			if tag.RowsAffected() < pruneBatch {
				break
			}
		}
	}
	tag, err := s.execCommitted(ctx, s.q.pruneCounters, ns, floorNow)
	if err != nil {
		return removed, wrap("prune", err)
	}
	removed += int(tag.RowsAffected())

	// left lists the users this call read and found nothing to prune in
	// yet (their look-up keys are rounded down to the microsecond): the
	// look-up skips them. A pruned user no longer matches the look-up, nor
	// does one this version cannot read (its keys are postponed), so every
	// batch finds others and the loop ends.
	left := []string{}
	for {
		rows, err := s.pool.Query(ctx, s.q.pruneCandidates, ns, floorNow, floorTime(logBefore), pruneBatch, left)
		if err != nil {
			return removed, wrap("prune", err)
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return removed, wrap("prune", err)
		}
		for chunk := range slices.Chunk(ids, pruneLockBatch) {
			n, kept, err := s.pruneUsers(ctx, ns, chunk, now, logBefore)
			if err != nil {
				return removed, wrap("prune", err)
			}
			removed += n
			left = append(left, kept...)
		}
		if len(ids) < pruneBatch {
			return removed, nil
		}
	}
}

// rekeyRow is a user row whose look-up keys Prune sets from its state.
type rekeyRow struct {
	tid               pgtype.TID
	expires, logFirst pgtype.Timestamptz
}

// pruneUsers prunes the state of users in one transaction holding their
// advisory locks, taken in key order so that two Prunes cannot deadlock
// (an Update holds a single one). It returns how many items it removed and
// the users it found nothing to prune in.
func (s *Store) pruneUsers(ctx context.Context, ns string, ids []string, now, logBefore time.Time) (int, []string, error) {
	keys := make([]int64, len(ids))
	for i, id := range ids {
		keys[i] = s.userLock(ns, id)
	}
	slices.Sort(keys)
	keys = slices.Compact(keys)
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return 0, nil, err
	}
	defer conn.Release()
	for attempt := 1; ; attempt++ {
		n, kept, err := s.pruneUsersOnce(ctx, conn, ns, ids, keys, now, logBefore)
		if err == nil {
			return n, kept, nil
		}
		rollback(conn)
		// A conflict (errConflict) runs again too, although the COMMIT
		// sent with the writes may have committed them: pruning again
		// the state they left removes nothing more (the items the first
		// run removed go uncounted). It needs a writer that skips the
		// users' locks.
		if !retryable(err) && !errors.Is(err, errConflict) || attempt == maxAttempts || ctx.Err() != nil {
			return 0, nil, err
		}
	}
}

func (s *Store) pruneUsersOnce(ctx context.Context, conn *pgxpool.Conn, ns string, ids []string, keys []int64, now, logBefore time.Time) (int, []string, error) {
	b := &pgx.Batch{}
	b.Queue(sqlBegin)
	b.Queue(sqlPlanByIndex)
	b.Queue(s.q.lockUsers, int64Array(keys))
	b.Queue(s.q.userSelectRows, ns, textArray(ids))
	br := conn.SendBatch(ctx, b)
	type userRow struct {
		user string
		r    userRead
	}
	var users []userRow
	var err error
	for range 3 { // BEGIN, settings, locks
		if _, err = br.Exec(); err != nil {
			break
		}
	}
	if err == nil {
		var rows pgx.Rows
		if rows, err = br.Query(); err == nil {
			users, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (userRow, error) {
				u := userRow{r: userRead{found: true}}
				var n int64
				err := r.Scan(&n, &u.r.tid, &u.r.body)
				if err == nil && (n < 1 || n > int64(len(ids))) {
					err = fmt.Errorf("user number %d out of range", n)
				}
				if err == nil {
					u.user = ids[n-1]
				}
				return u, err
			})
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, nil, err
	}
	removed := 0
	var (
		w          writes
		arena      []byte
		kept       []string // found nothing to prune in, keys rounded down to now
		unreadable []string
		rekey      []rekeyRow
		floorNow   = floorTime(now)
		floorLog   = floorTime(logBefore)
	)
	for _, row := range users {
		var u store.UserState
		if err := decodeState(&u, row.r.body); err != nil {
			// A state this version cannot read (damaged, or written by a
			// newer version) is left as it is: it must not keep every
			// other user of the namespace from being pruned.
			s.log(slog.LevelWarn, "prune skips a user whose state this version cannot read",
				slog.String("namespace", ns), slog.String("user", row.user), slog.Any("error", err),
				slog.Duration("retry_in", pruneRetry))
			unreadable = append(unreadable, row.user)
			continue
		}
		n := u.Prune(now, logBefore)
		if n == 0 {
			// Nothing expired: its keys are earlier than its state. Set
			// from the state, they leave the look-up, unless rounding
			// down to the microsecond keeps them in it: this call then
			// reads past the user.
			expires, logFirst := pruneKeys(&u)
			if expires.Valid && !expires.Time.After(floorNow) || logFirst.Valid && !logFirst.Time.After(floorLog) {
				kept = append(kept, row.user)
			} else {
				rekey = append(rekey, rekeyRow{row.r.tid, expires, logFirst})
			}
			continue
		}
		removed += n
		queueStateWrite(&w, &arena, row.user, now, &row.r, &u)
	}
	wb := &pgx.Batch{}
	w.queue(wb, s.q, ns)
	if len(unreadable) > 0 {
		wb.Queue(s.q.prunePostpone, ns, floorNow, floorLog, floorNow.Add(pruneRetry), floorLog.Add(pruneRetry), textArray(unreadable))
	}
	for _, r := range rekey {
		wb.Queue(s.q.pruneRekey, r.tid, r.expires, r.logFirst)
	}
	wb.Queue("COMMIT")
	br = conn.SendBatch(ctx, wb)
	err = w.checkWrites(br)
	if err == nil && len(unreadable) > 0 {
		_, err = br.Exec()
	}
	for range rekey {
		if err == nil {
			_, err = br.Exec()
		}
	}
	if err == nil {
		_, err = br.Exec()
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, nil, err
	}
	return removed, kept, nil
}
