package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/campaignconnector/campaignconnector/store"
)

const (
	// The users whose deliveries are due by a time, earliest first: the
	// wake-up check stops at the first one not in the batch.
	sqlDueUsers = `SELECT user_id FROM campaignconnector_pending WHERE ns = ? AND ready_at <= ? ORDER BY ready_at`
	sqlWakeBump = `INSERT INTO campaignconnector_namespaces (ns, wake) VALUES (?, 1)
		ON CONFLICT (ns) DO UPDATE SET wake = wake + 1 RETURNING wake`
)

// batchChunk bounds the ops of one UpdateBatch transaction: the writing
// connection is held no longer than that many ops take, and a failure
// rolls back no more than that many.
const batchChunk = 1024

// UpdateBatch implements [store.BatchUpdater] with one write transaction
// per 1,024 ops: the ops' users are read, their event IDs recorded in
// slice order, then each user's ops run in slice order, each seeing the
// state the one before left as the store would have stored it, and the
// users' rows are written. The ops of a transaction share its fate: a
// failure sets the same error on each, and the ops of later chunks are
// not tried. Only a user whose stored state this version cannot decode
// (written by a newer one) fails alone: its ops get the error, their
// event IDs are not recorded, and the other ops are applied.
func (s *Store) UpdateBatch(ctx context.Context, ns string, ops []store.Op) error {
	setErr := func(ops []store.Op, err error) {
		for i := range ops {
			ops[i].Err = err
		}
	}
	if err := s.begin(ctx); err != nil {
		setErr(ops, err)
		return err
	}
	for i := range ops {
		if checkNow(ops[i].Now) != nil {
			return s.updateEach(ctx, ns, ops)
		}
	}
	var (
		b     batch
		first error
	)
	for start := 0; start < len(ops); start += batchChunk {
		chunk := ops[start:min(len(ops), start+batchChunk)]
		if err := s.write(ctx, func(t *tx) error { return b.apply(t, ns, chunk) }); err != nil {
			err = wrap("update batch", err)
			setErr(ops[start:], err)
			return err
		}
		for i := range chunk {
			if chunk[i].Err != nil {
				chunk[i].Err = wrap("update batch", chunk[i].Err)
				if first == nil {
					first = chunk[i].Err
				}
			}
		}
		s.woke(ns, b.wake)
	}
	return first
}

// updateEach is UpdateBatch applying each op through Update: for a batch
// in which some op's now is out of range, so that it fails alone.
func (s *Store) updateEach(ctx context.Context, ns string, ops []store.Op) error {
	var first error
	for i := range ops {
		op := &ops[i]
		op.Err = s.Update(ctx, ns, op.UserID, op.Now, op.Dedup, op.Fn)
		if first == nil {
			first = op.Err
		}
	}
	return first
}

// batch applies the ops of one namespace in a write transaction, and
// tells whether they must wake the namespace's engines. Its slices are
// reused from chunk to chunk.
type batch struct {
	dup    []bool
	users  []string // in order of first appearance
	byOps  [][]int  // byOps[k]: the indexes of users[k]'s ops, in order
	userOf []int    // userOf[i]: the index in users of op i's user
	states [][]byte // states[k]: users[k]'s state row, nil if none
	olds   [][]loaded
	// decoded[k] is users[k]'s state as read; bad[k] the error decoding
	// it, which fails users[k]'s ops alone.
	decoded []store.UserState
	bad     []error
	rows    rowWriter
	seen    []any
	cache   *pendingCache // the writing connection's
	// wake is the namespace's wake-up counter after the batch bumped it;
	// 0 when it did not.
	wake int64
}

const (
	sqlSeenHead = `INSERT INTO campaignconnector_seen (ns, user_id, event_id, keep_until) VALUES `
	// A row comes back for each ID that is new or whose remembered window
	// ended (?2 is now): not a duplicate. The rows of one statement are
	// inserted in order, so an ID twice in it is new the first time only.
	sqlSeenTail = ` ON CONFLICT (ns, user_id, event_id) DO UPDATE SET keep_until = excluded.keep_until WHERE keep_until <= ?2
		RETURNING user_id, event_id`
	sqlUsersMany = `SELECT user_id, state FROM campaignconnector_users
		WHERE ns = ?1 AND user_id IN (SELECT value FROM json_each(?2))`
	sqlPendingMany = `SELECT user_id, rowid, id, campaign_id, seq, ready_at, token, data FROM campaignconnector_pending
		WHERE ns = ?1 AND user_id IN (SELECT value FROM json_each(?2)) ORDER BY user_id, seq`
)

// apply runs ops in transaction t. It sets each op's Err: nil, or the
// error decoding its user's rows, when only that user failed.
func (b *batch) apply(t *tx, ns string, ops []store.Op) error {
	b.wake, b.cache = 0, &t.w.cache
	b.group(ops)
	if err := b.read(t, ns); err != nil {
		return err
	}
	for i := range ops {
		ops[i].Err = b.bad[b.userOf[i]]
	}
	if err := b.dedup(t, ns, ops); err != nil {
		return err
	}
	b.rows.reset(ns)
	var (
		earliest int64
		changed  []string
	)
	for k, user := range b.users {
		if b.bad[k] != nil {
			continue
		}
		earlier, ch, err := b.applyUser(k, user, ops)
		if err != nil {
			return err
		}
		if ch {
			if len(changed) == 0 || earlier < earliest {
				earliest = earlier
			}
			changed = append(changed, user)
		}
	}
	if err := b.rows.flush(t); err != nil {
		return err
	}
	if len(changed) == 0 {
		return nil
	}
	return b.checkWake(t, ns, earliest, changed)
}

// dedup records the ops' event IDs, in slice order, and sets b.dup. Ops
// with the same now share statements; a change of now starts new ones.
func (b *batch) dedup(t *tx, ns string, ops []store.Op) error {
	b.dup = append(b.dup[:0], make([]bool, len(ops))...)
	for i := 0; i < len(ops); {
		now := ops[i].Now
		j := i
		b.seen = b.seen[:0]
		for ; j < len(ops) && ops[j].Now.Equal(now); j++ {
			if d := ops[j].Dedup; d.EventID != "" && ops[j].Err == nil {
				b.seen = append(b.seen, ops[j].UserID, d.EventID, nanos(d.KeepUntil))
			}
		}
		if len(b.seen) > 0 {
			fresh := map[[2]string]bool{}
			err := writeRows(t, sqlSeenHead, sqlSeenTail, []any{ns, nanos(now)}, true, 3, b.seen, func(rows *sql.Rows) error {
				var key [2]string
				if err := rows.Scan(&key[0], &key[1]); err != nil {
					return err
				}
				fresh[key] = true
				return nil
			})
			if err != nil {
				return err
			}
			for k := i; k < j; k++ {
				if id := ops[k].Dedup.EventID; id != "" && ops[k].Err == nil {
					key := [2]string{ops[k].UserID, id}
					b.dup[k] = !fresh[key]
					delete(fresh, key) // the first of the IDs is the new one
				}
			}
		}
		i = j
	}
	return nil
}

// read reads the batch's users: their state rows and pending rows, and
// sets b.bad for those whose rows do not decode.
func (b *batch) read(t *tx, ns string) error {
	n := len(b.users)
	b.states = append(b.states[:0], make([][]byte, n)...)
	for k := range b.olds {
		b.olds[k] = nil
	}
	b.olds = append(b.olds[:0], make([][]loaded, n)...)
	b.bad = append(b.bad[:0], make([]error, n)...)
	defer b.decode()
	if n == 1 {
		rows, err := t.query(sqlUserRead, ns, b.users[0])
		if err != nil {
			return err
		}
		b.states[0], b.olds[0], err = readUserRows(rows, b.cache)
		rows.Close()
		var u *unreadable
		if errors.As(err, &u) {
			b.bad[0], err = u.err, nil
		}
		return err
	}
	index := make(map[string]int, n)
	for k, u := range b.users {
		index[u] = k
	}
	ids, err := json.Marshal(b.users)
	if err != nil {
		return err
	}
	err = t.rows(sqlUsersMany, func(rows *sql.Rows) error {
		var user string
		var state []byte
		if err := rows.Scan(&user, &state); err != nil {
			return err
		}
		b.states[index[user]] = state
		return nil
	}, ns, string(ids))
	if err != nil {
		return err
	}
	return t.rows(sqlPendingMany, func(rows *sql.Rows) error {
		var user string
		var l loaded
		if err := rows.Scan(&user, &l.rowid, &l.p.ID, &l.p.CampaignID, &l.seq, &l.readyAt, &l.token, &l.data); err != nil {
			return err
		}
		k := index[user]
		if err := l.decode(b.cache); err != nil {
			if b.bad[k] == nil {
				b.bad[k] = err
			}
			return nil
		}
		b.olds[k] = append(b.olds[k], l)
		return nil
	}, ns, string(ids))
}

// decode builds each user's state from what read read, and sets b.bad
// for the users whose state row does not decode.
func (b *batch) decode() {
	clear(b.decoded)
	b.decoded = append(b.decoded[:0], make([]store.UserState, len(b.users))...)
	for k, user := range b.users {
		if b.bad[k] == nil {
			b.decoded[k], b.bad[k] = decodeUser(user, b.states[k], b.olds[k])
		}
	}
}

// group lists the batch's users with their ops.
func (b *batch) group(ops []store.Op) {
	b.users, b.byOps, b.userOf = b.users[:0], b.byOps[:0], b.userOf[:0]
	if len(ops) == 1 {
		b.users, b.byOps, b.userOf = append(b.users, ops[0].UserID), append(b.byOps, []int{0}), append(b.userOf, 0)
		return
	}
	index := make(map[string]int, len(ops))
	for i := range ops {
		k, ok := index[ops[i].UserID]
		if !ok {
			k = len(b.users)
			index[ops[i].UserID] = k
			b.users, b.byOps = append(b.users, ops[i].UserID), append(b.byOps, nil)
		}
		b.byOps[k] = append(b.byOps[k], i)
		b.userOf = append(b.userOf, k)
	}
}

// applyUser runs the ops of the batch's k-th user in order and gathers
// the writes of what they left. It returns the earliest ReadyAt among the
// deliveries they scheduled or made ready earlier, if any.
func (b *batch) applyUser(k int, user string, ops []store.Op) (earlier int64, changed bool, err error) {
	u := b.decoded[k]
	for n, i := range b.byOps[k] {
		if n > 0 {
			// What the op before left, as the store would have stored
			// it and the next Update read it back.
			if err := reload(&u); err != nil {
				return 0, false, err
			}
		}
		ops[i].Fn(&u, b.dup[i])
	}
	earlier, changed, err = writePending(&b.rows, user, b.olds[k], u.Pending)
	if err != nil {
		return 0, false, err
	}
	return earlier, changed, writeState(&b.rows, user, b.states[k], &u)
}

// checkWake bumps the namespace's wake-up counter unless another user's
// delivery is due no later than earliest, the earliest ReadyAt the batch
// scheduled: engines wait for the earliest delivery of their namespace,
// and only one due no later than every other needs them to look again.
// Writes take turns, so what this sees is what the next writer (a Claim,
// say) starts from: an engine that claims the earlier delivery looks for
// the next one after that, and sees this batch's.
func (b *batch) checkWake(t *tx, ns string, earliest int64, changed []string) error {
	rows, err := t.query(sqlDueUsers, ns, earliest)
	if err != nil {
		return err
	}
	in := func(user string) bool { return slices.Contains(changed, user) }
	if len(changed) > 16 {
		set := make(map[string]struct{}, len(changed))
		for _, u := range changed {
			set[u] = struct{}{}
		}
		in = func(user string) bool { _, ok := set[user]; return ok }
	}
	other := false
	for rows.Next() && !other {
		var user string
		if err := rows.Scan(&user); err != nil {
			rows.Close()
			return err
		}
		other = !in(user)
	}
	rows.Close()
	if err := rows.Err(); err != nil || other {
		return err
	}
	_, err = t.queryRow(sqlWakeBump, []any{ns}, &b.wake)
	return err
}

// reload replaces u by what reading it back from the store would give:
// pending deliveries and state through their encodings.
func reload(u *store.UserState) error {
	for i, p := range u.Pending {
		data, err := encodePending(p)
		if err != nil {
			return fmt.Errorf("encoding pending delivery %q: %w", p.ID, err)
		}
		l := loaded{readyAt: nanos(p.ReadyAt), token: int64(p.Token), data: data}
		l.p.ID, l.p.CampaignID = p.ID, p.CampaignID
		if err := l.decode(nil); err != nil {
			return err
		}
		u.Pending[i] = &l.p
	}
	rest := store.UserState{Receipts: u.Receipts, Sends: u.Sends, Conversions: u.Conversions, Log: u.Log}
	var back store.UserState
	if !rest.IsEmpty() {
		state, err := json.Marshal(&rest)
		if err != nil {
			return fmt.Errorf("encoding a user's state: %w", err)
		}
		if err := json.Unmarshal(state, &back); err != nil {
			return fmt.Errorf("decoding a user's state: %w", err)
		}
	}
	u.Receipts, u.Sends, u.Conversions, u.Log = back.Receipts, back.Sends, back.Conversions, back.Log
	return nil
}
