package store

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/campaignconnector/campaignconnector/rule"
)

var _ Tallier = (*Memory)(nil)

// memTallies is a namespace's decision tallies: a map from key to count
// under a lock of its own. Engines add to it in batches every few seconds,
// so a map is all it needs.
type memTallies struct {
	mu     sync.Mutex
	counts map[TallyKey]int64
}

// AddTallies implements [Tallier.AddTallies].
func (m *Memory) AddTallies(ctx context.Context, ns string, tallies []Tally) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := ValidateTallies(tallies); err != nil {
		return err
	}
	mt := &m.space(ns).tallies
	mt.mu.Lock()
	defer mt.mu.Unlock()
	if mt.counts == nil {
		mt.counts = make(map[TallyKey]int64)
	}
	for i := range tallies {
		if t := &tallies[i]; t.Count > 0 {
			mt.counts[t.Key()] += t.Count
		}
	}
	return nil
}

// Tallies implements [Tallier.Tallies].
func (m *Memory) Tallies(ctx context.Context, ns string, q TallyQuery) ([]Tally, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := q.Validate(); err != nil {
		return nil, err
	}
	// Sets of the campaigns listed, and of the kinds when they are many,
	// for the million keys of a month: Matches looks through the lists for
	// each. The calls are direct, so that k stays on the stack.
	var ids map[string]bool
	if len(q.CampaignIDs) > 0 {
		ids = make(map[string]bool, len(q.CampaignIDs))
		for _, id := range q.CampaignIDs {
			ids[id] = true
		}
	}
	var kinds map[rule.DecisionKind]bool
	if len(q.Kinds) > 16 {
		kinds = make(map[rule.DecisionKind]bool, len(q.Kinds))
		for _, k := range q.Kinds {
			kinds[k] = true
		}
	}
	mt := &m.space(ns).tallies
	var keys []TallyKey
	mt.mu.Lock()
	for k := range mt.counts {
		var ok bool
		if ids == nil && kinds == nil {
			ok = q.Matches(&k)
		} else {
			campaign := ids == nil && (q.CampaignID == "" || q.CampaignID == k.CampaignID) || ids[k.CampaignID]
			kind := kinds == nil && q.matchesKind(&k) || kinds[k.Kind]
			ok = campaign && kind && q.matchesHour(&k)
		}
		if ok {
			keys = append(keys, k)
		}
	}
	out := make([]Tally, len(keys))
	slices.SortFunc(keys, TallyKey.Compare)
	for i, k := range keys {
		out[i] = k.Tally(mt.counts[k])
	}
	mt.mu.Unlock()
	return out, nil
}

// PruneTallies implements [Tallier.PruneTallies].
func (m *Memory) PruneTallies(ctx context.Context, ns string, before time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	cut := ceilUnix(before)
	mt := &m.space(ns).tallies
	mt.mu.Lock()
	defer mt.mu.Unlock()
	removed := 0
	for k := range mt.counts {
		if k.Hour < cut {
			delete(mt.counts, k)
			removed++
		}
	}
	return removed, nil
}
