package sqlite

import (
	"context"
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
	// Users with something to prune, found by the columns Update keeps,
	// but those ?5 lists (a JSON array): the users this Prune has read and
	// left as they are.
	sqlPruneCandidates = `SELECT user_id, state FROM campaignconnector_users
		WHERE ns = ?1 AND (expires_at <= ?2 OR log_first < ?3)
		AND user_id NOT IN (SELECT value FROM json_each(?5)) LIMIT ?4`
	sqlFreePages = `SELECT freelist_count, page_count FROM pragma_freelist_count, pragma_page_count`
)

const (
	pruneBatch = 1000
	// Freed pages are given back to the file system when they are more
	// than a quarter of the file, at most this many per Prune.
	vacuumPages = 10000
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
	// left lists the users this call read and left as they are (a state
	// this version cannot read): the look-up skips them, so that however
	// many there are, the users after them are pruned.
	var left []string
	for {
		var n, found int
		var kept []string
		err := s.write(ctx, func(t *tx) (err error) {
			n, found, kept, err = s.pruneUsers(t, ns, now, logBefore, left)
			return err
		})
		if err != nil {
			return removed, wrap("prune", err)
		}
		removed += n
		left = append(left, kept...)
		if found < pruneBatch {
			break
		}
	}
	if err := s.vacuum(ctx); err != nil {
		return removed, wrap("prune", err)
	}
	return removed, nil
}

// pruneUsers prunes up to a batch of users with something expired, other
// than those in left, and returns how many items it removed, how many
// users it found and those it left as they are. Every user found has
// something to prune (the look-up keys are exact), so the next batch finds
// others. A user whose state this version cannot read (damaged, or written
// by a newer version) is left as it is and logged: it must not keep every
// other user of the namespace from being pruned.
func (s *Store) pruneUsers(t *tx, ns string, now, logBefore time.Time, left []string) (removed, found int, kept []string, err error) {
	skip, err := json.Marshal(left)
	if err != nil {
		return 0, 0, nil, err
	}
	if left == nil {
		skip = []byte("[]")
	}
	rows, err := t.query(sqlPruneCandidates, ns, nanos(now), nanos(logBefore), pruneBatch, string(skip))
	if err != nil {
		return 0, 0, nil, err
	}
	type userRow struct {
		id    string
		state []byte
	}
	var users []userRow
	for rows.Next() {
		var u userRow
		if err := rows.Scan(&u.id, &u.state); err != nil {
			rows.Close()
			return 0, 0, nil, err
		}
		users = append(users, u)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, 0, nil, err
	}
	var w rowWriter
	w.reset(ns)
	for _, row := range users {
		var u store.UserState
		if err := json.Unmarshal(row.state, &u); err != nil {
			s.log(slog.LevelWarn, "prune skips a user whose state this version cannot read",
				slog.String("namespace", ns), slog.String("user", row.id), slog.Any("error", err))
			kept = append(kept, row.id)
			continue
		}
		n := u.Prune(now, logBefore)
		if n == 0 {
			kept = append(kept, row.id) // nothing expired after all: its keys are rewritten, and this call reads past it
		}
		removed += n
		if err := writeState(&w, row.id, row.state, &u); err != nil {
			return 0, 0, nil, err
		}
	}
	return removed, len(users), kept, w.flush(t)
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
