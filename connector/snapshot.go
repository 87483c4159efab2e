package connector

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// snapshot is an immutable view of the namespace's campaigns at one store
// revision, with the index Track uses. It is rebuilt when the revision
// moves (once per campaign change, never per event).
type snapshot struct {
	rev       int64
	loc       *time.Location // the engine's default location, for warnings
	campaigns map[string]*campaign
	// index maps (kind, campaign) — campaign "" for non-campaign events —
	// to the triggers and exceptions of active follow-ups that can match.
	// An event with no entry costs one look-up.
	index listenerIndex
}

type campaign struct {
	store.CampaignRecord
	ids idHash // deliveryID's hash state after the namespace and the follow-up's ID
}

// lookup returns the listeners of (k, campaignID), or nil.
func (s *snapshot) lookup(k event.Kind, campaignID string) *listeners {
	return s.index.get(k, campaignID)
}

type listeners struct {
	triggers   []triggerRef
	exceptions []exceptionRef
	opens      []*campaign  // receipts of these campaigns open their conversion windows
	converts   []convertRef // events of these conversions (emit is nil in the index)
}

type triggerRef struct {
	c      *campaign
	t      *rule.Trigger
	desc   string    // t.String(), for decisions, computed once per snapshot
	origin *campaign // the campaign t.CampaignID names, nil when none or unknown
}

type exceptionRef struct {
	c    *campaign
	x    *rule.Exception
	desc string
}

func newSnapshot(ns string, rev int64, recs []store.CampaignRecord, loc *time.Location) *snapshot {
	s := &snapshot{
		rev:       rev,
		loc:       loc,
		campaigns: make(map[string]*campaign, len(recs)),
	}
	// Index in ID order, so that decisions about several campaigns come in
	// the same order in every engine and every run.
	slices.SortFunc(recs, func(a, b store.CampaignRecord) int { return strings.Compare(a.Campaign.ID, b.Campaign.ID) })
	ordered := make([]*campaign, len(recs))
	for i, rec := range recs {
		c := &campaign{CampaignRecord: rec, ids: idPrefix(ns, rec.Campaign.ID)}
		s.campaigns[rec.Campaign.ID] = c
		ordered[i] = c
	}
	byKey := make(map[[2]string]*listeners)
	listen := func(k event.Kind, campaignID string) *listeners {
		key := [2]string{string(k), campaignID}
		l := byKey[key]
		if l == nil {
			l = &listeners{}
			byKey[key] = l
		}
		return l
	}
	for _, c := range ordered {
		if c.State != rule.Active {
			continue
		}
		for i := range c.Campaign.Triggers {
			t := &c.Campaign.Triggers[i]
			l := listen(t.Kind, t.CampaignID)
			l.triggers = append(l.triggers, triggerRef{c: c, t: t, desc: t.String(), origin: s.campaigns[t.CampaignID]})
		}
		for i := range c.Campaign.Exceptions {
			x := &c.Campaign.Exceptions[i]
			l := listen(x.Kind, x.CampaignID)
			l.exceptions = append(l.exceptions, exceptionRef{c, x, x.String()})
		}
	}
	// Conversions: any campaign that can still be received (originals too);
	// whether it counts is checked per event (the stopped-originals option).
	for _, c := range ordered {
		if len(c.Campaign.Conversions) == 0 || (c.State != rule.Active && c.State != rule.Stopped) {
			continue
		}
		for _, k := range receiptKinds {
			l := listen(k, c.Campaign.ID)
			l.opens = append(l.opens, c)
		}
		for i := range c.Campaign.Conversions {
			cv := &c.Campaign.Conversions[i]
			l := listen(cv.Kind, cv.CampaignID)
			l.converts = append(l.converts, convertRef{c: c, cv: cv})
		}
	}
	s.index = newListenerIndex(byKey)
	return s
}

// current returns the engine's snapshot, first rebuilding it if the store's
// revision moved (another engine changed a campaign).
func (e *Engine) current(ctx context.Context) (*snapshot, error) {
	rev, err := e.store.Revision(ctx, e.cfg.namespace)
	if err != nil {
		return nil, err
	}
	if s := e.snap.Load(); s != nil && s.rev >= rev {
		return s, nil
	}
	return e.refresh(ctx, rev)
}

// refresh rebuilds the snapshot unless one at least as new as minRev is
// already there.
func (e *Engine) refresh(ctx context.Context, minRev int64) (*snapshot, error) {
	e.snapMu.Lock()
	defer e.snapMu.Unlock()
	if s := e.snap.Load(); s != nil && minRev >= 0 && s.rev >= minRev {
		return s, nil
	}
	rev, recs, err := e.store.Campaigns(ctx, e.cfg.namespace)
	if err != nil {
		return nil, err
	}
	s := newSnapshot(e.cfg.namespace, rev, recs, e.cfg.location)
	e.snap.Store(s)
	return s, nil
}

// stale reports whether pending delivery p belongs to an earlier activation
// of its follow-up, or to one since stopped or archived: such a delivery is
// never sent (SPEC.md R2). A follow-up the snapshot does not know, or knows
// at an older activation, was changed by another engine after this
// snapshot was taken: the delivery is kept.
func (s *snapshot) stale(p *store.Pending) bool {
	return staleFor(s.campaigns[p.CampaignID], p)
}

// staleFor is stale, with p's follow-up c already looked up (nil: unknown).
func staleFor(c *campaign, p *store.Pending) bool {
	if c == nil {
		return false
	}
	return c.Activation > p.Activation || (c.Activation == p.Activation && c.State != rule.Active)
}
