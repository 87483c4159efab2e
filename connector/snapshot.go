package connector

import (
	"context"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// snapshot is an immutable view of the namespace's campaigns at one store
// revision, with the index Track uses. An engine builds it in full from
// the store when another engine changed a campaign, and derives it from
// the one before when the change is its own (see [snapshot.with]): a
// campaign change costs what involves that campaign, never the whole set,
// and no event costs a rebuild.
type snapshot struct {
	rev       int64
	loc       *time.Location // the engine's default location, for warnings
	campaigns idTable[*campaign]
	// followUps maps a campaign ID to the campaigns, in any state, whose
	// triggers name it: the warnings about an original and the search for
	// cycles read it.
	followUps idTable[idList]
	// acceptStopped: interactions with stopped originals count
	// (WithStoppedOriginals), for warnings.
	acceptStopped bool
	// oneZone: every user is in loc (no Directory, or a SegmentFunc,
	// which gives no zones), so a calendar delay and a send window can be
	// checked against a campaign's end, for warnings.
	oneZone bool
	// maxTriggerAge: triggers older than this are refused
	// (WithMaxTriggerAge), for warnings; 0 for no limit.
	maxTriggerAge time.Duration
	// index maps (kind, campaign) — campaign "" for non-campaign events —
	// to the triggers and exceptions of active follow-ups that can match.
	// An event with no entry costs one look-up.
	index listenerIndex
}

type campaign struct {
	store.CampaignRecord
	ids idHash // deliveryID's hash state after the namespace and the follow-up's ID
	// triggerDescs and exceptionDescs are the String of each trigger and
	// exception of an active campaign, for decisions; exceptionTallies
	// name the exceptions in the tallies (tallyRuleName).
	triggerDescs, exceptionDescs, exceptionTallies []string
	// tally is the engine's counters of its decisions, set on first use
	// (tally_book.go).
	tally atomic.Pointer[tallyCell]
}

// newCampaign returns the snapshot's campaign of record rec.
func newCampaign(ns string, rec store.CampaignRecord) *campaign {
	c := &campaign{CampaignRecord: rec, ids: idPrefix(ns, rec.Campaign.ID)}
	if rec.State == rule.Active {
		for _, t := range rec.Campaign.Triggers {
			c.triggerDescs = append(c.triggerDescs, t.String())
		}
		for _, x := range rec.Campaign.Exceptions {
			desc := x.String()
			c.exceptionDescs = append(c.exceptionDescs, desc)
			c.exceptionTallies = append(c.exceptionTallies, tallyRuleName(desc))
		}
	}
	return c
}

// campaign returns campaign id, or nil when the snapshot does not know it.
func (s *snapshot) campaign(id string) *campaign {
	c, _ := s.campaigns.get(id)
	return c
}

// keyEntry is what the index holds for one key: the campaigns listening on
// it and, built from them, their listeners. A snapshot built in full
// builds every key's listeners; a derived one builds those of the keys the
// change touched when Track first looks them up (at a cost in proportion
// to the listeners, which Track then goes through anyway), so that
// changes in a row to the follow-ups of one original cost no more than
// the chunk of the list that changed.
type keyEntry struct {
	members idList                    // IDs of the campaigns with entries under the key
	l       atomic.Pointer[listeners] // nil until built
}

// lookup returns the listeners of (k, campaignID), or nil.
func (s *snapshot) lookup(k event.Kind, campaignID string) *listeners {
	e := s.index.get(k, campaignID)
	if e == nil {
		return nil
	}
	if l := e.l.Load(); l != nil {
		return l
	}
	l := s.listenersOf(k, campaignID, e)
	if !e.l.CompareAndSwap(nil, l) {
		return e.l.Load() // another look-up built the same listeners first
	}
	return l
}

// listenersOf builds the listeners of key (k, campaignID) from its members.
func (s *snapshot) listenersOf(k event.Kind, campaignID string, e *keyEntry) *listeners {
	l := &listeners{}
	at := func(kind event.Kind, id string) *listeners {
		if kind == k && id == campaignID {
			return l
		}
		return nil
	}
	for id := range e.members.all() {
		s.campaign(id).listen(at, s.campaign)
	}
	return l
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
	desc   string    // t.String(), for decisions, computed once per record
	origin *campaign // the campaign t.CampaignID names, nil when none or unknown
}

type exceptionRef struct {
	c     *campaign
	x     *rule.Exception
	desc  string
	tally string // the exception's name in the tallies
}

func newSnapshot(ns string, rev int64, recs []store.CampaignRecord, loc *time.Location) *snapshot {
	s := &snapshot{rev: rev, loc: loc}
	// Index in ID order, so that decisions about several campaigns come in
	// the same order in every engine and every run.
	slices.SortFunc(recs, func(a, b store.CampaignRecord) int { return strings.Compare(a.Campaign.ID, b.Campaign.ID) })
	ordered := make([]*campaign, len(recs))
	followUps := map[string][]string{}
	for i, rec := range recs {
		c := newCampaign(ns, rec)
		ordered[i] = c
		for _, o := range c.origins() {
			followUps[o] = append(followUps[o], rec.Campaign.ID)
		}
	}
	s.campaigns = newIDTableOf(len(ordered), func(yield func(string, *campaign) bool) {
		for _, c := range ordered {
			if !yield(c.Campaign.ID, c) {
				return
			}
		}
	})
	s.followUps = newIDTableOf(len(followUps), func(yield func(string, idList) bool) {
		for o, ids := range followUps {
			if !yield(o, newIDList(ids)) {
				return
			}
		}
	})
	// Each key's listeners and members, built in one pass: campaigns come
	// in ID order, so a key's members are sorted and a campaign listening
	// twice on a key is its last member. Keys are allocated in blocks:
	// there are about as many as campaigns.
	type building struct {
		key     indexSlot
		l       listeners
		members []string
	}
	byKey := make(map[[2]string]*building, len(recs))
	var (
		block []building
		built []*building
		cur   string
	)
	at := func(k event.Kind, campaignID string) *listeners {
		key := [2]string{string(k), campaignID}
		b := byKey[key]
		if b == nil {
			if len(block) == cap(block) {
				block = make([]building, 0, 256)
			}
			block = append(block, building{key: indexSlot{kind: k, campaign: campaignID}})
			b = &block[len(block)-1]
			byKey[key] = b
			built = append(built, b)
		}
		if n := len(b.members); n == 0 || b.members[n-1] != cur {
			b.members = append(b.members, cur)
		}
		return &b.l
	}
	for _, c := range ordered {
		cur = c.Campaign.ID
		c.listen(at, s.campaign)
	}
	entries := make([]indexSlot, len(built))
	keyEntries := make([]keyEntry, len(built))
	for i, b := range built {
		e := &keyEntries[i]
		e.members = newIDList(b.members)
		e.l.Store(&b.l)
		entries[i] = b.key
		entries[i].e = e
	}
	s.index = newListenerIndexOf(entries)
	return s
}

// listen adds c's entries to the listeners at returns for each key c
// listens on (at returns nil for keys to skip): the triggers and
// exceptions of an active follow-up, with origin resolving the campaigns
// its triggers name; and, for a campaign with conversions that can still
// be received (originals too), its receipts and its conversion events.
// Whether a conversion counts is checked per event (the stopped-originals
// option).
func (c *campaign) listen(at func(k event.Kind, campaignID string) *listeners, origin func(id string) *campaign) {
	def := &c.Campaign
	if c.State == rule.Active {
		for i := range def.Triggers {
			t := &def.Triggers[i]
			if l := at(t.Kind, t.CampaignID); l != nil {
				l.triggers = append(l.triggers, triggerRef{c: c, t: t, desc: c.triggerDescs[i], origin: origin(t.CampaignID)})
			}
		}
		for i := range def.Exceptions {
			x := &def.Exceptions[i]
			if l := at(x.Kind, x.CampaignID); l != nil {
				l.exceptions = append(l.exceptions, exceptionRef{c, x, c.exceptionDescs[i], c.exceptionTallies[i]})
			}
		}
	}
	if len(def.Conversions) == 0 || (c.State != rule.Active && c.State != rule.Stopped) {
		return
	}
	for _, k := range receiptKinds {
		if l := at(k, def.ID); l != nil {
			l.opens = append(l.opens, c)
		}
	}
	for i := range def.Conversions {
		cv := &def.Conversions[i]
		if l := at(cv.Kind, cv.CampaignID); l != nil {
			l.converts = append(l.converts, convertRef{c: c, cv: cv})
		}
	}
}

// keys returns the index keys c listens on, each once.
func (c *campaign) keys() [][2]string {
	var out [][2]string
	var sink listeners
	c.listen(func(k event.Kind, campaignID string) *listeners {
		if key := [2]string{string(k), campaignID}; !slices.Contains(out, key) {
			out = append(out, key)
		}
		return &sink
	}, func(string) *campaign { return nil })
	return out
}

// origins returns the campaigns c's triggers name, each once, in trigger
// order.
func (c *campaign) origins() []string {
	var out []string
	for _, t := range c.Campaign.Triggers {
		if t.CampaignID != "" && !slices.Contains(out, t.CampaignID) {
			out = append(out, t.CampaignID)
		}
	}
	return out
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

// lockSnap takes e.snapToken, waiting for another caller's rebuild
// only as long as ctx lasts: that caller's context may outlast ctx by far
// (Run's courier, an action), and its read of the store may hang. A free
// token is taken even with ctx ended. On nil, the caller gives the token
// back with unlockSnap.
func (e *Engine) lockSnap(ctx context.Context) error {
	select {
	case e.snapToken <- struct{}{}:
		return nil
	default:
	}
	select {
	case e.snapToken <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// unlockSnap gives back the token lockSnap took.
func (e *Engine) unlockSnap() { <-e.snapToken }

// refresh rebuilds the snapshot from the store unless one at least as new
// as minRev is already there. It waits for another caller's rebuild only
// as long as ctx lasts (lockSnap).
func (e *Engine) refresh(ctx context.Context, minRev int64) (*snapshot, error) {
	if err := e.lockSnap(ctx); err != nil {
		return nil, err
	}
	defer e.unlockSnap()
	if s := e.snap.Load(); s != nil && minRev >= 0 && s.rev >= minRev {
		return s, nil
	}
	return e.rebuild(ctx)
}

// rebuild builds the snapshot in full from the store; e.snapToken is held.
func (e *Engine) rebuild(ctx context.Context) (*snapshot, error) {
	rev, recs, err := e.store.Campaigns(ctx, e.cfg.namespace)
	if err != nil {
		return nil, err
	}
	s := newSnapshot(e.cfg.namespace, rev, recs, e.cfg.location)
	s.acceptStopped = e.cfg.acceptStopped
	_, segmentsOnly := e.cfg.directory.(SegmentFunc)
	s.oneZone = e.cfg.directory == nil || segmentsOnly
	s.maxTriggerAge = e.cfg.maxTriggerAge
	e.snap.Store(s)
	return s, nil
}

// adopt brings the snapshot up to rec, a record one of the engine's own
// campaign updates stored. When rec's revision follows the snapshot's
// directly, nobody else changed a campaign in between, and the new
// snapshot is derived from the old one and rec alone; after a gap (another
// engine's change, or a concurrent update of this engine adopted out of
// order) it is rebuilt from the store. A snapshot already at or past rec
// is kept: it holds rec's change.
//
// It waits for another caller's rebuild only as long as ctx lasts
// (lockSnap), and then returns ctx's error with the snapshot left behind
// rec, as when its rebuild fails: the engine's next read rebuilds it once
// the store's revision shows rec.
func (e *Engine) adopt(ctx context.Context, rec store.CampaignRecord) (*snapshot, error) {
	if err := e.lockSnap(ctx); err != nil {
		return nil, err
	}
	defer e.unlockSnap()
	s := e.snap.Load()
	switch {
	case s != nil && s.rev >= rec.Revision:
		return s, nil
	case s != nil && s.rev == rec.Revision-1:
		s = s.with(e.cfg.namespace, rec)
		e.snap.Store(s)
		return s, nil
	}
	return e.rebuild(ctx)
}

// catchUp brings the snapshot up to revision rev, that of a stored record
// one of the engine's campaign updates read and left as it was: another
// engine made that change, and the store's revision, which a store may
// cache for a while, need not show it yet. Without it an Apply that
// finds its set already applied by another replica would leave this
// engine ignoring the set's campaigns until the store read its revision
// again.
func (e *Engine) catchUp(ctx context.Context, rev int64) error {
	if s := e.snap.Load(); s != nil && s.rev >= rev {
		return nil
	}
	_, err := e.refresh(ctx, rev)
	return err
}

// stale reports whether pending delivery p belongs to an earlier activation
// of its follow-up, or to one since stopped or archived: such a delivery is
// never sent: a stop cancels what is pending, and a resume does not bring
// it back. A follow-up the snapshot does not know, or knows
// at an older activation, was changed by another engine after this
// snapshot was taken: the delivery is kept.
func (s *snapshot) stale(p *store.Pending) bool {
	return staleFor(s.campaign(p.CampaignID), p)
}

// staleFor is stale, with p's follow-up c already looked up (nil: unknown).
func staleFor(c *campaign, p *store.Pending) bool {
	if c == nil {
		return false
	}
	return c.Activation > p.Activation || (c.Activation == p.Activation && c.State != rule.Active)
}
