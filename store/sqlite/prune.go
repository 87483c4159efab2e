package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/campaignconnector/campaignconnector/store"
)

const (
	// Batched deletes: at most ?3 rows per transaction, so that no
	// transaction holds the write lock long.
	sqlPruneSeen = `DELETE FROM campaignconnector_seen WHERE (ns, user_id, event_id) IN (
		SELECT ns, user_id, event_id FROM campaignconnector_seen WHERE ns = ?1 AND keep_until <= ?2 LIMIT ?3)`
	sqlPruneInteractions = `DELETE FROM campaignconnector_interactions WHERE seq IN (
		SELECT seq FROM campaignconnector_interactions WHERE ns = ?1 AND keep_until <= ?2 LIMIT ?3)`
	sqlPruneCounters = `DELETE FROM campaignconnector_counters WHERE ns = ? AND expires <= ?`
	// Users with something to prune, found by the columns Update keeps.
	sqlPruneCandidates = `SELECT user_id, state, expires_at, log_first FROM campaignconnector_users
		WHERE ns = ?1 AND (expires_at <= ?2 OR log_first < ?3) LIMIT ?4`
	// A user found with nothing to prune has keys earlier than its state:
	// they are set from the state, so that the look-up does not find it
	// again.
	sqlPruneRekey = `UPDATE campaignconnector_users SET expires_at = ?3, log_first = ?4 WHERE ns = ?1 AND user_id = ?2`
	// A user whose state this version cannot read has its look-up keys
	// moved past ?2 and ?3 (by pruneRetry), state untouched: the look-up
	// finds it again only then.
	sqlPrunePostpone = `UPDATE campaignconnector_users SET
		expires_at = CASE WHEN expires_at <= ?2 THEN ?4 ELSE expires_at END,
		log_first = CASE WHEN log_first < ?3 THEN ?5 ELSE log_first END
		WHERE ns = ?1 AND user_id = ?6`
	sqlFreePages = `SELECT freelist_count, page_count FROM pragma_freelist_count, pragma_page_count`
)

const (
	pruneBatch = 1000
	// Freed pages are given back to the file system when they are more
	// than a quarter of the file, at most this many per Prune.
	vacuumPages = 10000
	// pruneRetry is how long Prune leaves a user whose state this version
	// cannot read (damaged, or written by a newer version) before it reads
	// it again: it is logged once per retry, not at every call, and
	// however many such users there are, the look-up reads past them.
	pruneRetry = time.Hour
)

// Prune implements [store.Store.Prune]. Remembered event IDs, counters and
// logged interactions go with batched DELETEs; users with expired state
// are found by index and pruned with [store.UserState.Prune], in batches.
// Each batch is a write transaction of its own: a Prune that fails part
// way keeps what it removed, the next one goes on from there, and writes
// of the engines interleave with the batches. Finally, if more than a
// quarter of the file's pages are free, it gives up to 10,000 of them
// (40 MB with the default page size) back to the file system.
func (s *Store) Prune(ctx context.Context, ns string, now, logBefore time.Time) (int, error) {
	if err := s.begin(ctx); err != nil {
		return 0, err
	}
	if err := checkNow(now); err != nil {
		return 0, wrap("prune", err)
	}
	removed := 0
	at := nanos(now)
	for _, q := range []string{sqlPruneSeen, sqlPruneInteractions} {
		for {
			var n int64
			err := s.write(ctx, func(t *tx) error {
				res, err := t.exec(q, ns, at, pruneBatch)
				if err == nil {
					n, err = res.RowsAffected()
				}
				return err
			})
			if err != nil {
				return removed, wrap("prune", err)
			}
			removed += int(n)
			if n < pruneBatch {
				break
			}
		}
	}
	var counters int64
	err := s.write(ctx, func(t *tx) error {
		res, err := t.exec(sqlPruneCounters, ns, at)
		if err == nil {
			counters, err = res.RowsAffected()
		}
		return err
	})
	if err != nil {
		return removed, wrap("prune", err)
	}
	removed += int(counters)
	for {
		var b pruned
		err := s.write(ctx, func(t *tx) (err error) {
			b, err = s.pruneUsers(t, ns, now, logBefore)
			return err
		})
		if err != nil {
			return removed, wrap("prune", err)
		}
		removed += b.removed
		if b.found < pruneBatch || b.removed == 0 && b.moved == 0 {
			break // the last batch, or one that changed nothing: the next would find the same users
		}
	}
	if err := s.vacuum(ctx); err != nil {
		return removed, wrap("prune", err)
	}
	return removed, nil
}

// pruned is what a batch of pruneUsers did: items removed, users found,
// and users it moved out of the look-up without removing anything
// (postponed, or keys set from their state).
type pruned struct{ removed, found, moved int }

// pruneUsers prunes up to a batch of users with something expired. Every
// user found leaves the look-up: pruned, its keys set from its state when
// they were earlier than it, or, when this version cannot read its state
// (damaged, or written by a newer version), left as it is and logged, its
// keys postponed by pruneRetry: it must not keep every other user of the
// namespace from being pruned.
func (s *Store) pruneUsers(t *tx, ns string, now, logBefore time.Time) (pruned, error) {
	rows, err := t.query(sqlPruneCandidates, ns, nanos(now), nanos(logBefore), pruneBatch)
	if err != nil {
		return pruned{}, err
	}
	type userRow struct {
		id                string
		state             []byte
		expires, logFirst sql.NullInt64
	}
	var users []userRow
	for rows.Next() {
		var u userRow
		if err := rows.Scan(&u.id, &u.state, &u.expires, &u.logFirst); err != nil {
			rows.Close()
			return pruned{}, err
		}
		users = append(users, u)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return pruned{}, err
	}
	b := pruned{found: len(users)}
	var w rowWriter
	w.reset(ns)
	for _, row := range users {
		var u store.UserState
		if err := json.Unmarshal(row.state, &u); err != nil {
			s.log(slog.LevelWarn, "prune skips a user whose state this version cannot read",
				slog.String("namespace", ns), slog.String("user", row.id), slog.Any("error", err),
				slog.Duration("retry_in", pruneRetry))
			if _, err := t.exec(sqlPrunePostpone, ns, nanos(now), nanos(logBefore),
				nanos(now.Add(pruneRetry)), nanos(logBefore.Add(pruneRetry)), row.id); err != nil {
				return pruned{}, err
			}
			b.moved++
			continue
		}
		n := u.Prune(now, logBefore)
		b.removed += n
		if n == 0 {
			expires, logFirst := pruneKeys(&u)
			if !sameKey(row.expires, expires) || !sameKey(row.logFirst, logFirst) {
				if _, err := t.exec(sqlPruneRekey, ns, row.id, expires, logFirst); err != nil {
					return pruned{}, err
				}
				b.moved++
			}
			continue
		}
		if err := writeState(&w, row.id, row.state, &u); err != nil {
			return pruned{}, err
		}
	}
	return b, w.flush(t)
}

// sameKey reports whether a stored look-up key is k (nil or an int64, as
// pruneKeys returns them).
func sameKey(stored sql.NullInt64, k any) bool {
	n, ok := k.(int64)
	return stored.Valid == ok && (!ok || stored.Int64 == n)
}

// vacuum gives free pages back to the file system when they are more
// than a quarter of the file (the file was set to incremental vacuum when
// created; on a file that was not, it does nothing).
func (s *Store) vacuum(ctx context.Context) error {
	var free, pages int64
	if _, err := s.queryRow(ctx, sqlFreePages, nil, &free, &pages); err != nil {
		return err
	}
	if free == 0 || free*4 < pages {
		return nil
	}
	return s.write(ctx, func(t *tx) error {
		_, err := t.exec(fmt.Sprintf("PRAGMA incremental_vacuum(%d)", min(free, vacuumPages)))
		return err
	})
}
