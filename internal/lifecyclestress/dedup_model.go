package lifecyclestress

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
)

// dedupModel says what each event RunRetention tracked must have done:
// whether it was processed or a duplicate, from when its ID was last
// processed and the follow-ups active when it came.
type dedupModel struct {
	dedupAll   bool                  // connector.WithDedupAll: every ID is remembered
	active     map[string]bool       // by campaign ID, in the current round
	until      map[string]time.Time  // by user and event ID: the end of its window
	want       map[sendKey]*sendWant // what each user's event did at each time
	sends      int                   // events tracked (each to both engines)
	processed  int                   // of which processed
	renewed    int                   // of which processed past their window
	duplicates int                   // duplicates for both engines
}

// sendKey names the sends of one event at one time (one round: the clock
// stands still while the round's events are tracked).
type sendKey struct {
	user, id, campaign string
	at                 time.Time
}

// sendWant counts what the sends of a sendKey must have decided about its
// follow-up: a decision for each send processed, a duplicate for each
// engine that found the event a duplicate.
type sendWant struct {
	kind       event.Kind
	processed  int
	duplicates int
}

func newDedupModel(dedupAll bool) *dedupModel {
	return &dedupModel{dedupAll: dedupAll, until: map[string]time.Time{}, want: map[sendKey]*sendWant{}}
}

// listeners returns the follow-ups active now that listen to kind: f1's
// trigger and exception, f2's trigger.
func (m *dedupModel) listeners(kind event.Kind) []string {
	var out []string
	if m.active["f1"] {
		out = append(out, "f1")
	}
	if kind == event.EmailReceived && m.active["f2"] {
		out = append(out, "f2")
	}
	return out
}

// send notes ev, tracked to both engines at now. An event no active
// follow-up listens to is not remembered, unless every ID is; otherwise
// it is a duplicate while now is before the end of its window (the store
// remembers an ID until KeepUntil, excluded), and is processed once, by
// one engine, after it, which starts a new window.
func (m *dedupModel) send(ev event.Event, now time.Time) {
	m.sends++
	ls := m.listeners(ev.Kind)
	if len(ls) == 0 && !m.dedupAll {
		return
	}
	key := ev.UserID + "/" + ev.ID
	until, seen := m.until[key]
	dup := now.Before(until)
	switch {
	case dup:
		m.duplicates++
	case seen:
		m.renewed++
		fallthrough
	default:
		m.until[key] = now.Add(dedupWindow)
		m.processed++
	}
	for _, c := range ls {
		k := sendKey{ev.UserID, ev.ID, c, now}
		w := m.want[k]
		if w == nil {
			w = &sendWant{kind: ev.Kind}
			m.want[k] = w
		}
		if dup {
			w.duplicates += 2
		} else {
			w.processed++
			w.duplicates++
		}
	}
}

// check compares the decisions observed with the model's: per sendKey,
// the duplicates, and the decisions of triggers processed (scheduled, or
// suppressed on arrival: one per send processed) or of exceptions
// processed (cancellations and ignored exceptions on arrival: none unless
// a send was processed). No
// decision of a tracked event falls outside a sendKey the model expects.
func (m *dedupModel) check(t *testing.T, observed []rule.Decision) {
	type got struct{ decided, duplicates int }
	counts := map[sendKey]*got{}
	for _, d := range observed {
		var dup bool
		switch {
		case d.Kind == rule.Duplicate:
			dup = true
		case d.Kind == rule.Scheduled, d.Kind == rule.Suppressed && d.DeliveryID == "", d.Kind == rule.HeldOut:
		case d.EventKind == event.EmailOpened && (d.Kind == rule.Cancelled || d.Kind == rule.Ignored):
			// An exception's, on arrival (those taken when sending name the
			// delivery's trigger).
		default:
			continue // taken when sending, or by a stop or an edit
		}
		k := sendKey{d.UserID, d.EventID, d.CampaignID, d.At}
		c := counts[k]
		if c == nil {
			c = &got{}
			counts[k] = c
		}
		if dup {
			c.duplicates++
		} else {
			c.decided++
		}
	}
	about := func(k sendKey) []string { // the decisions about k's event, for failure messages
		var out []string
		for _, d := range observed {
			if d.UserID == k.user && d.EventID == k.id {
				out = append(out, d.String())
			}
		}
		return out
	}
	for k, c := range counts {
		w, ok := m.want[k]
		require.True(t, ok, "decisions about an event no send of which concerned the follow-up: %s; decisions about the event:\n%s", k, strings.Join(about(k), "\n"))
		require.Equal(t, w.duplicates, c.duplicates, "%s: duplicates (%d processed); decisions about the event:\n%s", k, w.processed, strings.Join(about(k), "\n"))
		switch {
		case w.kind == event.EmailReceived:
			require.Equal(t, w.processed, c.decided, "%s: decisions of the trigger; decisions about the event:\n%s", k, strings.Join(about(k), "\n"))
		case w.processed == 0:
			require.Zero(t, c.decided, "%s: a duplicate exception cancelled something; decisions about the event:\n%s", k, strings.Join(about(k), "\n"))
		}
	}
	for k, w := range m.want {
		if counts[k] == nil {
			require.Zero(t, w.duplicates+w.processed*boolInt(w.kind == event.EmailReceived), "%s: no decision observed; decisions about the event:\n%s", k, strings.Join(about(k), "\n"))
		}
	}
}

func (k sendKey) String() string {
	return fmt.Sprintf("user %s, event %s, follow-up %s, at %s", k.user, k.id, k.campaign, k.at.UTC().Format(time.TimeOnly))
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
