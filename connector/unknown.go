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
// this engine ignored because it knows no campaign by them (those counted
// in [store.EventCounts].Ignored under [rule.ReasonUnknownCampaign]), the
// latest first. It keeps at most eight: a new ID takes the place of the one
// named longest ago, so events naming many made-up IDs turn the list over
// while the count in Ignored stays exact. Like [Engine.EventCounts], it is
// this process's since the engine was built, and costs no store call.
func (e *Engine) UnknownCampaigns() []UnknownCampaign { return e.unknown.list() }

// recentUnknown is the list behind Engine.UnknownCampaigns. Only events
// naming an unknown campaign take its lock.
type recentUnknown struct {
	mu  sync.Mutex
	ids []UnknownCampaign // unordered, at most unknownMax
}

// note counts an event naming the unknown campaign id, tracked at now.
func (r *recentUnknown) note(id string, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range r.ids {
		if u := &r.ids[i]; u.ID == id {
			u.Events++
			if now.After(u.Last) {
				u.Last = now
			}
			return
		}
	}
	// A copy: id may share the memory of a larger buffer of the host's.
	u := UnknownCampaign{ID: strings.Clone(id), Events: 1, Last: now}
	if len(r.ids) < unknownMax {
		r.ids = append(r.ids, u)
		return
	}
	oldest := 0
	for i := range r.ids {
		if r.ids[i].Last.Before(r.ids[oldest].Last) {
			oldest = i
		}
	}
	r.ids[oldest] = u
}

// list returns a copy of the IDs, the latest first (by ID when tied).
func (r *recentUnknown) list() []UnknownCampaign {
	r.mu.Lock()
	out := slices.Clone(r.ids)
	r.mu.Unlock()
	slices.SortFunc(out, func(a, b UnknownCampaign) int {
		if c := b.Last.Compare(a.Last); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return out
}
