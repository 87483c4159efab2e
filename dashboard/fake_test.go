package dashboard

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// fakeSource is a source held in memory, for testing the pages without an
// engine. Its Tallies and Pending follow the store contracts: hours in
// [Since, Until), pending in (DueAt, ID) order after the cursor.
type fakeSource struct {
	mu        sync.Mutex
	now       time.Time
	campaigns map[string]store.CampaignRecord
	warnings  []connector.Warning
	stats     store.Stats
	unknown   []connector.UnknownCampaign
	failures  []rule.Decision
	tallies   []tally
	pending   []store.Claim
	explain   map[[2]string]connector.Explanation
	noLog     bool
	noTallies bool
	// noCount makes CampaignPendingCount answer as a store without a
	// bounded count of a follow-up's pending deliveries; counted holds the
	// follow-ups it counted.
	noCount bool
	// cancelErr, when set, is what CancelPending returns.
	cancelErr error
	counted   []string
	// allCampaigns and allKinds make Tallies ignore CampaignIDs and
	// Kinds, as a store written before them does; talliesAsked holds the
	// queries Tallies had.
	allCampaigns bool
	allKinds     bool
	talliesAsked []tallyQuery
	ops          []string // actions carried out, "op id"
	// clockSkew answers ClockSkew; nil is a store without a server clock.
	clockSkew func(ctx context.Context) (time.Duration, error)
}

func newFake(now time.Time) *fakeSource {
	return &fakeSource{now: now, campaigns: map[string]store.CampaignRecord{}, explain: map[[2]string]connector.Explanation{}}
}

func (f *fakeSource) add(c rule.Campaign, s rule.State) {
	f.mu.Lock()
	defer f.mu.Unlock()
	rec := store.CampaignRecord{Campaign: c, State: s, CreatedAt: f.now.Add(-30 * 24 * time.Hour)}
	if s != rule.Draft {
		rec.Activation, rec.ActivatedAt = 1, f.now.Add(-20*24*time.Hour)
	}
	f.campaigns[c.ID] = rec
}

func (f *fakeSource) Now() time.Time { return f.now }

func (f *fakeSource) Campaigns(context.Context) ([]store.CampaignRecord, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []store.CampaignRecord
	for _, r := range f.campaigns {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b store.CampaignRecord) int { return cmp.Compare(a.Campaign.ID, b.Campaign.ID) })
	return out, nil
}

func (f *fakeSource) Campaign(_ context.Context, id string) (store.CampaignRecord, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.campaigns[id]
	if !ok {
		return r, fmt.Errorf("%w %q", connector.ErrUnknownCampaign, id)
	}
	return r, nil
}

func (f *fakeSource) Stats(context.Context) (store.Stats, error) { return f.stats, nil }

func (f *fakeSource) EventCounts() store.EventCounts { return f.stats.Events }

func (f *fakeSource) UnknownCampaigns() []connector.UnknownCampaign { return f.unknown }

func (f *fakeSource) RecentFailures() []rule.Decision { return f.failures }

func (f *fakeSource) ClockSkew(ctx context.Context) (time.Duration, error) {
	if f.clockSkew == nil {
		return 0, connector.ErrNoServerClock
	}
	return f.clockSkew(ctx)
}

func (f *fakeSource) Check(context.Context) ([]connector.Warning, error) { return f.warnings, nil }

func (f *fakeSource) ExplainUser(_ context.Context, userID string) ([]connector.Explanation, error) {
	if f.noLog {
		return nil, connector.ErrNoDecisionLog
	}
	var out []connector.Explanation
	for k, x := range f.explain {
		if k[0] == userID {
			out = append(out, x)
		}
	}
	slices.SortFunc(out, func(a, b connector.Explanation) int { return strings.Compare(a.CampaignID, b.CampaignID) })
	return out, nil
}

func (f *fakeSource) Tallies(_ context.Context, q tallyQuery) ([]tally, error) {
	if f.noTallies {
		return nil, fmt.Errorf("%w (fake)", errNoTallies)
	}
	f.mu.Lock()
	f.talliesAsked = append(f.talliesAsked, q)
	f.mu.Unlock()
	var out []tally
	for _, t := range f.tallies {
		listed := len(q.CampaignIDs) == 0 || f.allCampaigns || slices.Contains(q.CampaignIDs, t.CampaignID)
		ofKind := len(q.Kinds) == 0 || f.allKinds || slices.Contains(q.Kinds, t.Kind)
		if !t.Hour.Before(q.Since) && t.Hour.Before(q.Until) && (q.CampaignID == "" || q.CampaignID == t.CampaignID) && listed && ofKind {
			out = append(out, t)
		}
	}
	return out, nil
}

func (f *fakeSource) Pending(_ context.Context, q pendingQuery) ([]store.Claim, error) {
	all := slices.Clone(f.pending)
	slices.SortFunc(all, func(a, b store.Claim) int {
		return cmp.Or(a.Pending.DueAt.Compare(b.Pending.DueAt), cmp.Compare(a.Pending.ID, b.Pending.ID))
	})
	var out []store.Claim
	for _, c := range all {
		p := c.Pending
		if q.CampaignID != "" && p.CampaignID != q.CampaignID {
			continue
		}
		if q.AfterID != "" && (p.DueAt.Before(q.AfterDue) || p.DueAt.Equal(q.AfterDue) && p.ID <= q.AfterID) {
			continue
		}
		out = append(out, c)
		if len(out) == q.Limit {
			break
		}
	}
	return out, nil
}

func (f *fakeSource) CampaignPendingCount(_ context.Context, id string, limit int64) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.noCount {
		return 0, fmt.Errorf("%w (fake)", errNoPendingCount)
	}
	f.counted = append(f.counted, id)
	var n int64
	for _, c := range f.pending {
		if c.Pending.CampaignID == id && n < limit {
			n++
		}
	}
	return n, nil
}

func (f *fakeSource) transition(op, id string, to rule.State) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.campaigns[id]
	if !ok {
		return fmt.Errorf("%w %q", connector.ErrUnknownCampaign, id)
	}
	if err := r.State.Transition(to); err != nil {
		return err
	}
	r.State = to
	f.campaigns[id] = r
	f.ops = append(f.ops, op+" "+id)
	return nil
}

func (f *fakeSource) Publish(_ context.Context, id string) error {
	return f.transition("publish", id, rule.Active)
}

// Stop and Archive cancel the campaign's pending deliveries, as the
// engine does.
func (f *fakeSource) Stop(_ context.Context, id string) error {
	return f.cancelling(f.transition("stop", id, rule.Stopped), id)
}

func (f *fakeSource) Archive(_ context.Context, id string) error {
	return f.cancelling(f.transition("archive", id, rule.Archived), id)
}

// cancelling drops the pending deliveries of campaign id unless err is
// set, and returns err.
func (f *fakeSource) cancelling(err error, id string) error {
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pending = slices.DeleteFunc(f.pending, func(c store.Claim) bool { return c.Pending.CampaignID == id })
	return nil
}

// CancelPending drops the fake's pending deliveries of campaign id, or
// fails with cancelErr when set.
func (f *fakeSource) CancelPending(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.campaigns[id]; !ok {
		return fmt.Errorf("%w %q", connector.ErrUnknownCampaign, id)
	}
	f.ops = append(f.ops, "cancel_pending "+id)
	if f.cancelErr != nil {
		return f.cancelErr
	}
	f.pending = slices.DeleteFunc(f.pending, func(c store.Claim) bool { return c.Pending.CampaignID == id })
	return nil
}

func (f *fakeSource) actions() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.ops)
}
