package store

import (
	"container/heap"
	"context"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/campaignconnector/campaignconnector/internal/props"
)

var (
	_ PendingLister          = (*Memory)(nil)
	_ CampaignPendingCounter = (*Memory)(nil)
)

// CampaignPendingCount implements
// [CampaignPendingCounter.CampaignPendingCount]. It reads each shard's due
// queue, one shard at a time under the shard's lock, rather than its
// users: a count costs about the namespace's pending deliveries (and
// fewer once limit is reached), not its users, most of whom may have
// none. It stops at limit.
func (m *Memory) CampaignPendingCount(ctx context.Context, ns, campaignID string, limit int64) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if err := CheckCampaignCount(campaignID, limit); err != nil {
		return 0, err
	}
	sp := m.space(ns)
	ofShape := sp.shapesOf(campaignID)
	var n int64
	for i := range sp.shards {
		sh := &sp.shards[i]
		sh.mu.Lock()
		n += sh.due.countOf(ofShape, campaignID, limit-n)
		sh.mu.Unlock()
		if n >= limit {
			break
		}
	}
	return n, nil
}

// ListPending implements [PendingLister.ListPending]. It walks every
// user of the namespace, one shard at a time under the shard's lock, and
// keeps the first q.Limit deliveries after the cursor in a bounded heap:
// a page costs a pass over the namespace's deliveries, for a dashboard's
// occasional look, and copies at most q.Limit of them per shard.
func (m *Memory) ListPending(ctx context.Context, ns string, q PendingQuery) ([]Claim, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := q.Validate(); err != nil {
		return nil, err
	}
	sp := m.space(ns)
	var ofShape []bool
	if q.CampaignID != "" {
		ofShape = sp.shapesOf(q.CampaignID)
	}
	after := keyAt(q.AfterDue, q.AfterID)
	page := &pendingPage{limit: q.Limit}
	for i := range sp.shards {
		sh := &sp.shards[i]
		sh.mu.Lock()
		sh.users.each(func(u *memUser) {
			for k := range u.pendingCount() {
				mp := u.pendingAt(k)
				key := mp.pageKey()
				if (q.CampaignID != "" && !mp.of(ofShape, q.CampaignID)) || (q.AfterID != "" && key.compare(after) <= 0) || !page.wants(key) {
					continue
				}
				c := Claim{UserID: u.id()}
				sh.materialize(mp, c.UserID, &c.Pending)
				page.add(key, c)
			}
		})
		sh.mu.Unlock()
	}
	slices.SortFunc(page.items, func(a, b pageItem) int { return a.key.compare(b.key) })
	out := make([]Claim, len(page.items))
	for i, it := range page.items {
		out[i] = it.claim
		out[i].Pending.Trigger.Properties = props.Clone(it.claim.Pending.Trigger.Properties) // a copy: the caller may change it
	}
	return out, nil
}

// pendingKey is where a delivery stands in the listing order.
type pendingKey struct {
	due int64     // DueAt, Unix ns (as the shard keeps it), clamped to the int64 range
	far time.Time // DueAt when due is at either end of the range, which orders such keys among themselves
	id  string
}

// keyAt returns the key of a delivery due at due with ID id.
func keyAt(due time.Time, id string) pendingKey {
	k := pendingKey{due: unixNS(due), id: id}
	if k.due == math.MinInt64 || k.due == math.MaxInt64 {
		k.far = due
	}
	return k
}

func (k pendingKey) compare(o pendingKey) int {
	switch {
	case k.due < o.due:
		return -1
	case k.due > o.due:
		return 1
	}
	if c := k.far.Compare(o.far); c != 0 {
		return c
	}
	return strings.Compare(k.id, o.id)
}

// pendingPage keeps the limit smallest deliveries it is given: a max-heap
// on the key, whose top is the first to go.
type pendingPage struct {
	limit int
	items []pageItem
}

type pageItem struct {
	key   pendingKey
	claim Claim
}

// wants reports whether a delivery of key k would enter the page.
func (p *pendingPage) wants(k pendingKey) bool {
	return len(p.items) < p.limit || k.compare(p.items[0].key) < 0
}

func (p *pendingPage) add(k pendingKey, c Claim) {
	heap.Push(p, pageItem{k, c})
	if len(p.items) > p.limit {
		heap.Pop(p)
	}
}

func (p *pendingPage) Len() int           { return len(p.items) }
func (p *pendingPage) Less(i, j int) bool { return p.items[i].key.compare(p.items[j].key) > 0 }
func (p *pendingPage) Swap(i, j int)      { p.items[i], p.items[j] = p.items[j], p.items[i] }
func (p *pendingPage) Push(x any)         { p.items = append(p.items, x.(pageItem)) }
func (p *pendingPage) Pop() any {
	n := len(p.items) - 1
	it := p.items[n]
	p.items[n] = pageItem{}
	p.items = p.items[:n]
	return it
}

// pageKey returns the delivery's place in ListPending's order.
func (mp *memPending) pageKey() pendingKey {
	if f := mp.full(); f != nil {
		return keyAt(f.DueAt, f.ID)
	}
	k := pendingKey{due: mp.due, id: mp.deliveryID()}
	if k.due == math.MinInt64 || k.due == math.MaxInt64 {
		k.far = unixTime(k.due)
	}
	return k
}
