package connector

import (
	"cmp"
	"slices"
	"strings"
	"sync"
	"time"
)

// UnknownCampaign is a campaign ID that events named while the engine knew
// no campaign by it: most often a typo in the metadata of the host's
// messages, or a campaign not saved yet.
type UnknownCampaign struct {
	ID     string    // the campaign ID, as the events named it
	Events int64     // the events that named it since it entered the list
	Last   time.Time // the engine clock's time when the latest was tracked
}

// unknownMax is how many IDs [Engine.UnknownCampaigns] keeps.
const unknownMax = 8

// UnknownCampaigns returns the campaign IDs most recently named by events
// this engine ignored because it knew no campaign by them (those counted
// in [store.EventCounts].Ignored under [rule.ReasonUnknownCampaign]), the
// latest first. It keeps at most eight: a new ID takes the place of the
// one named longest ago, so events naming many made-up IDs turn the list
// over while the count in Ignored stays exact. An ID leaves the list once
// the engine knows a campaign by it, in any state: at once when saved
// through this engine; when another engine saved it, once this one has
// read the store's campaigns again, which any call looking at them does
// (Track, TrackAll, Tick, Campaigns, Check… the dashboard's health page
// among them).
// Like [Engine.EventCounts], the list is this process's since the engine
// was built, and costs no store call.
func (e *Engine) UnknownCampaigns() []UnknownCampaign {
	return e.unknown.list(e.snap.Load().knows)
}

// recentUnknown is the list behind Engine.UnknownCampaigns. Only events
// naming an unknown campaign take its lock.
type recentUnknown struct {
	mu  sync.Mutex
	ids []unknownEntry // unordered, at most unknownMax
	seq uint64         // the number of the latest note
}

// unknownEntry is an ID of the list, with the number of its latest note:
// the order of the notes decides which is latest, whatever the clock says.
type unknownEntry struct {
	UnknownCampaign
	seq uint64
}

// note counts an event naming the unknown campaign id, tracked at now.
// When a new ID finds the list full, IDs known reports as known leave
// first, then the one named longest ago.
func (r *recentUnknown) note(id string, now time.Time, known func(id string) bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seq++
	for i := range r.ids {
		if u := &r.ids[i]; u.ID == id {
			u.Events++
			u.Last, u.seq = now, r.seq
			return
		}
	}
	// A copy: id may share the memory of a larger buffer of the host's.
	u := unknownEntry{UnknownCampaign{ID: strings.Clone(id), Events: 1, Last: now}, r.seq}
	if len(r.ids) == unknownMax {
		r.ids = slices.DeleteFunc(r.ids, func(u unknownEntry) bool { return known(u.ID) })
	}
	if len(r.ids) < unknownMax {
		r.ids = append(r.ids, u)
		return
	}
	oldest := 0
	for i := range r.ids {
		if r.ids[i].seq < r.ids[oldest].seq {
			oldest = i
		}
	}
	r.ids[oldest] = u
}

// list drops the IDs known now reports as known, and returns a copy of the
// others, the latest first.
func (r *recentUnknown) list(known func(id string) bool) []UnknownCampaign {
	r.mu.Lock()
	r.ids = slices.DeleteFunc(r.ids, func(u unknownEntry) bool { return known(u.ID) })
	entries := slices.Clone(r.ids)
	r.mu.Unlock()
	slices.SortFunc(entries, func(a, b unknownEntry) int { return cmp.Compare(b.seq, a.seq) })
	out := make([]UnknownCampaign, len(entries))
	for i := range entries {
		out[i] = entries[i].UnknownCampaign
	}
	return out
}
