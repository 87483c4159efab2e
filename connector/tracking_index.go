package connector

import "github.com/campaignconnector/campaignconnector/store"

// One event can match the triggers, exceptions and conversions of
// thousands of follow-ups (one receipt of an original with many
// follow-ups), and one user can hold thousands of pending deliveries.
// What this file holds keeps an update's cost linear in both: the matched
// refs are found by campaign ID with a map once there are many, and the
// user's deliveries and receipts are grouped by trigger in one pass, so
// that no step compares every delivery with every follow-up.

// fewRefs is the longest list of matched refs that is scanned to find a
// campaign's; a longer list gets a map, built once per event.
const fewRefs = 8

// indexRefs maps the campaign ID of each of refs to the first of them
// that has it, or returns nil when there are few refs (a scan is cheaper).
func indexRefs[R any](refs []R, id func(*R) string) map[string]int32 {
	if len(refs) <= fewRefs {
		return nil
	}
	m := make(map[string]int32, len(refs))
	for i := range refs {
		if _, ok := m[id(&refs[i])]; !ok {
			m[id(&refs[i])] = int32(i)
		}
	}
	return m
}

// indexRefs readies the look-ups of the matched refs by campaign ID.
func (t *tracker) indexRefs() {
	t.triggerAt = indexRefs(t.triggers, func(r *triggerRef) string { return r.c.Campaign.ID })
	t.exceptionAt = indexRefs(t.exceptions, func(r *exceptionRef) string { return r.c.Campaign.ID })
	t.convertAt = indexRefs(t.converts, func(r *convertRef) string { return r.c.Campaign.ID })
}

// lookUp returns m's index of id, or -1.
func lookUp(m map[string]int32, id string) int {
	if i, ok := m[id]; ok {
		return int(i)
	}
	return -1
}

// triggerOf returns the index in t.triggers of follow-up id's trigger (at
// most one per follow-up), or -1.
func (t *tracker) triggerOf(id string) int {
	if t.triggerAt != nil {
		return lookUp(t.triggerAt, id)
	}
	for i := range t.triggers {
		if t.triggers[i].c.Campaign.ID == id {
			return i
		}
	}
	return -1
}

// exceptionOf returns the index in t.exceptions of follow-up id's
// exception (the first that matched decides), or -1.
func (t *tracker) exceptionOf(id string) int {
	if t.exceptionAt != nil {
		return lookUp(t.exceptionAt, id)
	}
	for i := range t.exceptions {
		if t.exceptions[i].c.Campaign.ID == id {
			return i
		}
	}
	return -1
}

// convertOf returns the index in t.converts of campaign id's first
// conversion (its others follow it), or -1.
func (t *tracker) convertOf(id string) int {
	if t.convertAt != nil {
		return lookUp(t.convertAt, id)
	}
	for i := range t.converts {
		if t.converts[i].c.Campaign.ID == id {
			return i
		}
	}
	return -1
}

// pendingGroups groups, for one update, the user's pending deliveries and
// receipts by the trigger of their follow-up. Deliveries are addressed by
// their index in u.Pending, which stays valid while the triggers are
// evaluated: new deliveries are appended past n, and those that triggers
// replace are only marked, then removed together by removeReplaced.
type pendingGroups struct {
	n       int     // len(u.Pending) when grouped
	head    []int32 // per trigger: the first of its follow-up's deliveries, -1 when none
	next    []int32 // per delivery of a trigger's follow-up: the next of that follow-up, -1 at the end
	receipt []int32 // per trigger: the index in u.Receipts of its follow-up's receipt, -1 when none
	drop    []bool  // per delivery: replaced by its follow-up's trigger
	dropped int
}

// groupPending groups u's deliveries and receipts by t's triggers, in one
// pass over each: each follow-up's deliveries in u.Pending's order.
func (t *tracker) groupPending(u *store.UserState) {
	g := &t.groups
	g.n, g.dropped = len(u.Pending), 0
	g.head = resize(g.head, len(t.triggers))
	g.receipt = resize(g.receipt, len(t.triggers))
	g.next = resize(g.next, g.n)
	g.drop = resize(g.drop, g.n)
	for i := range g.head {
		g.head[i], g.receipt[i] = -1, -1
	}
	clear(g.drop)
	for j := g.n - 1; j >= 0; j-- { // backwards, so that each chain runs forwards
		if i := t.triggerOf(u.Pending[j].CampaignID); i >= 0 {
			g.next[j], g.head[i] = g.head[i], int32(j)
		}
	}
	for k := range u.Receipts {
		if i := t.triggerOf(u.Receipts[k].CampaignID); i >= 0 && g.receipt[i] < 0 {
			g.receipt[i] = int32(k)
		}
	}
}

// resize returns s with length n, reusing its array when it is large
// enough; the contents are left as they are.
func resize[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// replace marks the deliveries of trigger i's follow-up as replaced,
// calling f with each, and forgets them: the delivery that replaces them
// may take any of their IDs.
func (g *pendingGroups) replace(u *store.UserState, i int, f func(old *store.Pending)) {
	for j := g.head[i]; j >= 0; j = g.next[j] {
		g.drop[j] = true
		g.dropped++
		f(u.Pending[j])
	}
	g.head[i] = -1
}

// removeReplaced removes the deliveries replace marked, in one pass.
func (g *pendingGroups) removeReplaced(u *store.UserState) {
	if g.dropped == 0 {
		return
	}
	j := 0
	u.RemovePendingFunc(func(*store.Pending) bool { // called once per delivery, in order
		drop := j < g.n && g.drop[j]
		j++
		return drop
	})
	g.dropped = 0
}

// uniqueID returns id, unless a delivery of trigger i's follow-up has it
// (the same trigger tracked twice without an event ID): then the first of
// its variants that none has. A delivery ID hashes the follow-up's ID, so
// only that follow-up's deliveries can share it, short of a 96-bit hash
// collision.
func (g *pendingGroups) uniqueID(u *store.UserState, i int, id string) string {
	taken := false
	for j := g.head[i]; j >= 0 && !taken; j = g.next[j] {
		taken = u.Pending[j].ID == id
	}
	if !taken {
		return id
	}
	have := make(map[string]bool)
	for j := g.head[i]; j >= 0; j = g.next[j] {
		have[u.Pending[j].ID] = true
	}
	for k := 1; ; k++ {
		if v := variant(id, k); !have[v] {
			return v
		}
	}
}
