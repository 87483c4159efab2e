package connector

import (
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

	// Suggestion is the ID of a campaign the engine knows that ID most
	// likely misspells ("spring_sale" for "spring_sael", or "Promo" for
	// "promo"), or "" when none is near enough, or two are as near, or
	// when a single event named ID (a typo comes with every message of
	// its campaign: made-up IDs are not worth a look through every
	// campaign). It is a hint for the person who reads the list: the
	// events stay ignored.
	Suggestion string
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
// Each ID comes with the known campaign ID it most likely misspells, if
// any, in Suggestion.
// Like [Engine.EventCounts], the list is this process's since the engine
// was built, and costs no store call.
func (e *Engine) UnknownCampaigns() []UnknownCampaign {
	return e.unknown.list(e.snap.Load(), e.cfg.clock.Now())
}

// recentUnknown is the list behind Engine.UnknownCampaigns, the latest
// first. Only events naming an unknown campaign take its lock.
type recentUnknown struct {
	mu  sync.Mutex
	ids []unknownEntry // at most unknownMax, the latest first

	// The looks for suggestions made in the minute scanMinute (Unix
	// minutes of the engine's clock): at most maxScansPerMinute.
	scanMinute int64
	scans      int
}

// unknownEntry is an ID of the list, with the snapshot its Suggestion
// was found in: a suggestion looks through every campaign ID, once per
// entry and set of campaigns, however often the list is read.
type unknownEntry struct {
	UnknownCampaign
	suggestedIn *snapshot
}

// note counts an event naming the unknown campaign id, tracked at now, and
// puts id first. When a new ID finds the list full, IDs known reports as
// known leave first, then the one named longest ago.
func (r *recentUnknown) note(id string, now time.Time, known func(id string) bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	u := unknownEntry{UnknownCampaign: UnknownCampaign{ID: id, Events: 1, Last: now}}
	if i := slices.IndexFunc(r.ids, func(u unknownEntry) bool { return u.ID == id }); i >= 0 {
		u = r.ids[i]
		u.Events++
		u.Last = now
		r.ids = slices.Delete(r.ids, i, i+1)
	} else {
		// A copy: id may share the memory of a larger buffer of the host's.
		u.ID = strings.Clone(id)
		if len(r.ids) == unknownMax {
			r.dropKnown(known)
		}
		if len(r.ids) == unknownMax {
			r.ids = r.ids[:unknownMax-1]
		}
	}
	r.ids = slices.Insert(r.ids, 0, u)
}

// list drops the IDs snap knows, and returns a copy of the others, the
// latest first, each named by more than one event with the campaign of
// snap it most likely misspells (as many as maxScansPerMinute allows at
// now). The look through snap's campaigns is made outside the lock, so
// that Tracks naming unknown campaigns do not wait for it.
func (r *recentUnknown) list(snap *snapshot, now time.Time) []UnknownCampaign {
	r.mu.Lock()
	r.dropKnown(snap.knows)
	if len(r.ids) == 0 {
		r.mu.Unlock()
		return nil
	}
	if m := now.Unix() / 60; m != r.scanMinute {
		r.scanMinute, r.scans = m, 0
	}
	out := make([]UnknownCampaign, len(r.ids))
	var todo []int // the places in out of the suggestions to find
	for i := range r.ids {
		u := &r.ids[i]
		out[i] = u.UnknownCampaign
		if u.suggestedIn != snap {
			out[i].Suggestion = ""
			if u.Events >= suggestAfter && r.scans < maxScansPerMinute {
				todo = append(todo, i)
				r.scans++
			}
		}
	}
	r.mu.Unlock()
	if len(todo) == 0 {
		return out
	}
	for _, i := range todo {
		out[i].Suggestion = nearestName(out[i].ID, snap.campaignIDs())
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, i := range todo {
		if k := slices.IndexFunc(r.ids, func(u unknownEntry) bool { return u.ID == out[i].ID }); k >= 0 {
			r.ids[k].Suggestion, r.ids[k].suggestedIn = out[i].Suggestion, snap
		}
	}
	return out
}

// suggestAfter is how many events must name an unknown ID before
// UnknownCampaigns looks for the campaign it misspells: a typo in a
// campaign's metadata comes with every message of the campaign, while a
// flood of made-up IDs, each named once, would cost a look through every
// campaign ID per ID.
const suggestAfter = 2

// maxScansPerMinute bounds the looks for suggestions of an engine: each
// goes through every campaign ID (7 ms with 10,000 campaigns), and a
// sender inventing IDs, each named twice, would cost one per ID. A typo
// costs one look per set of campaigns; past the bound, IDs wait for their
// suggestion until the next minute.
const maxScansPerMinute = 16

func (r *recentUnknown) dropKnown(known func(id string) bool) {
	r.ids = slices.DeleteFunc(r.ids, func(u unknownEntry) bool { return known(u.ID) })
}
