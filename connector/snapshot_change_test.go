package connector

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// TestDerivedSnapshotEqualsRebuild changes random campaigns one at a time
// — new ones, edits, every lifecycle state, triggers, exceptions and
// conversions naming each other, unknown campaigns and no campaign — and
// checks after each change that the snapshot derived from the one before
// is the snapshot built in full from the same records, that its entries
// point at its own campaigns (never at an earlier record), and that the
// snapshot it was derived from is left as it was.
func TestDerivedSnapshotEqualsRebuild(t *testing.T) {
	const ns = "ns"
	for seed := range uint64(20) {
		r := rand.New(rand.NewPCG(seed, 11))
		ids := make([]string, 3+r.IntN(40))
		for i := range ids {
			ids[i] = fmt.Sprintf("c%02d", i)
		}
		recs := map[string]store.CampaignRecord{}
		s := newSnapshot(ns, 0, nil, time.UTC)
		for rev := int64(1); rev <= 200; rev++ {
			rec := randomRecord(r, ids, rev)
			recs[rec.Campaign.ID] = rec
			before := dumpSnapshot(s)
			derived := s.with(ns, rec)
			if got := dumpSnapshot(s); got != before {
				t.Fatalf("seed %d rev %d: deriving changed the earlier snapshot:\n%s", seed, rev, diffLines(before, got))
			}
			all := make([]store.CampaignRecord, 0, len(recs))
			for _, rec := range recs {
				all = append(all, rec)
			}
			want, got := dumpSnapshot(newSnapshot(ns, rev, all, time.UTC)), dumpSnapshot(derived)
			if got != want {
				t.Fatalf("seed %d rev %d: %s changed; derived snapshot differs from the rebuild:\n%s", seed, rev, rec.Campaign.ID, diffLines(want, got))
			}
			s = derived
		}
	}
}

// randomRecord returns a record of one of ids at revision rev.
func randomRecord(r *rand.Rand, ids []string, rev int64) store.CampaignRecord {
	id := ids[r.IntN(len(ids))]
	ref := func() string {
		switch r.IntN(6) {
		case 0:
			return ""
		case 1:
			return "unknown"
		}
		return ids[r.IntN(len(ids))]
	}
	kinds := []event.Kind{event.EmailOpened, event.EmailClicked, event.EmailReceived, event.Purchase}
	c := rule.Campaign{ID: id}
	for i := range r.IntN(4) {
		c.Triggers = append(c.Triggers, rule.Trigger{Kind: kinds[r.IntN(len(kinds))], CampaignID: ref(), Target: fmt.Sprint(i)})
	}
	for i := range r.IntN(3) {
		c.Exceptions = append(c.Exceptions, rule.Exception{Kind: kinds[r.IntN(len(kinds))], CampaignID: ref(), Target: fmt.Sprint(i)})
	}
	for i := range r.IntN(3) {
		c.Conversions = append(c.Conversions, rule.Conversion{ID: fmt.Sprint("cv", i), Kind: kinds[r.IntN(len(kinds))], CampaignID: ref()})
	}
	states := []rule.State{rule.Draft, rule.Active, rule.Stopped, rule.Archived}
	return store.CampaignRecord{Campaign: c, State: states[r.IntN(len(states))], Activation: r.Int64N(3), Revision: rev}
}

// dumpSnapshot renders everything a snapshot holds, one line per fact,
// with the pointers its entries hold checked against its own campaigns.
func dumpSnapshot(s *snapshot) string {
	var lines []string
	add := func(format string, args ...any) { lines = append(lines, fmt.Sprintf(format, args...)) }
	add("rev %d, %d campaigns", s.rev, s.campaigns.len())
	own := func(c *campaign) string { // who c is, and whether it is the snapshot's record of it
		if c == nil {
			return "nil"
		}
		cur := "current"
		if s.campaign(c.Campaign.ID) != c {
			cur = "NOT CURRENT"
		}
		return fmt.Sprintf("%s@%d(%s)", c.Campaign.ID, c.Revision, cur)
	}
	for id, c := range s.campaigns.all() {
		add("campaign %s: %s %s %d %d triggers %v", id, own(c), c.State, c.Activation, len(c.Campaign.Triggers), c.ids)
	}
	for id, f := range s.followUps.all() {
		add("follow-ups of %s: %v", id, slices.Collect(f.all()))
	}
	for _, tab := range s.index.tables {
		for _, slot := range tab.slots {
			if slot.e == nil {
				continue
			}
			key := fmt.Sprintf("key %s/%s", slot.kind, slot.campaign)
			add("%s members %v", key, slices.Collect(slot.e.members.all()))
			l := s.lookup(slot.kind, slot.campaign)
			for i, r := range l.triggers {
				add("%s trigger %d: %s #%d %q origin %s", key, i, own(r.c), indexOf(r.c.Campaign.Triggers, r.t), r.desc, own(r.origin))
			}
			for i, r := range l.exceptions {
				add("%s exception %d: %s #%d %q", key, i, own(r.c), indexOf(r.c.Campaign.Exceptions, r.x), r.desc)
			}
			for i, c := range l.opens {
				add("%s opens %d: %s", key, i, own(c))
			}
			for i, r := range l.converts {
				add("%s converts %d: %s #%d", key, i, own(r.c), indexOf(r.c.Campaign.Conversions, r.cv))
			}
		}
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// indexOf returns the index of the element p points at in xs, or -1.
func indexOf[T any](xs []T, p *T) int {
	for i := range xs {
		if &xs[i] == p {
			return i
		}
	}
	return -1
}

// diffLines lists the lines only one of want and got has.
func diffLines(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var out []string
	for _, l := range w {
		if !slices.Contains(g, l) {
			out = append(out, "- "+l)
		}
	}
	for _, l := range g {
		if !slices.Contains(w, l) {
			out = append(out, "+ "+l)
		}
	}
	return strings.Join(out, "\n")
}
