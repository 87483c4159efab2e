package sqlite

import (
	"context"
	"encoding/json"
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
// per 1,024 ops: the ops' event IDs are recorded in slice order, then
// each user's ops run in slice order, each seeing the state the one
// before left as the store would have stored it, and the users' rows are
// written. The ops of a transaction share its fate: a failure sets the
// same error on each, and the ops of later chunks are not tried.
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
	var b batch
	for start := 0; start < len(ops); start += batchChunk {
		chunk := ops[start:min(len(ops), start+batchChunk)]
		if err := s.write(ctx, func(t *tx) error { return b.apply(t, ns, chunk) }); err != nil {
			err = wrap("update batch", err)
			setErr(ops[start:], err)
			return err
		}
		setErr(chunk, nil)
		s.woke(ns, b.wake)
	}
	return nil
}

// batch applies the ops of one namespace in a write transaction, and
// tells whether they must wake the namespace's engines.
type batch struct {
	dup   []bool
	users []string // in order of first appearance
	byOps [][]int  // byOps[k]: the indexes of users[k]'s ops, in order
	// wake is the namespace's wake-up counter after the batch bumped it;
	// 0 when it did not.
	wake int64
}

func (b *batch) apply(t *tx, ns string, ops []store.Op) error {
	b.wake = 0
	b.dup = append(b.dup[:0], make([]bool, len(ops))...)
	for i := range ops {
		d := ops[i].Dedup
		if d.EventID == "" {
			continue
		}
		var one int
		fresh, err := t.queryRow(sqlSeenInsert, []any{ns, ops[i].UserID, d.EventID, nanos(d.KeepUntil), nanos(ops[i].Now)}, &one)
		if err != nil {
			return err
		}
		b.dup[i] = !fresh
	}
	b.group(ops)
	var (
		earliest int64
		changed  []string
	)
	for k, user := range b.users {
		earlier, ch, err := b.applyUser(t, ns, user, ops, b.byOps[k])
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
	if len(changed) == 0 {
		return nil
	}
	return b.checkWake(t, ns, earliest, changed)
}

// group lists the batch's users with their ops.
func (b *batch) group(ops []store.Op) {
	b.users, b.byOps = b.users[:0], b.byOps[:0]
	if len(ops) == 1 {
		b.users, b.byOps = append(b.users, ops[0].UserID), append(b.byOps, []int{0})
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
	}
}

// applyUser reads one user, runs their ops in order and writes what they
// left. It returns the earliest ReadyAt among the deliveries they
// scheduled or made ready earlier, if any.
func (b *batch) applyUser(t *tx, ns, user string, ops []store.Op, idx []int) (earlier int64, changed bool, err error) {
	rows, err := t.query(sqlUserRead, ns, user)
	if err != nil {
		return 0, false, err
	}
	state, old, err := readUserRows(rows)
	rows.Close()
	if err != nil {
		return 0, false, err
	}
	u, err := decodeUser(user, state, old)
	if err != nil {
		return 0, false, err
	}
	for n, i := range idx {
		if n > 0 {
			// What the op before left, as the store would have stored
			// it and the next Update read it back.
			if err := reload(&u); err != nil {
				return 0, false, err
			}
		}
		ops[i].Fn(&u, b.dup[i])
	}
	earlier, changed, err = writePending(t, ns, user, old, u.Pending)
	if err != nil {
		return 0, false, err
	}
	return earlier, changed, writeState(t, ns, user, state, &u)
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
		if err := l.decode(); err != nil {
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
