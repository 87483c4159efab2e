package enginediff

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
)

// scenario is a random list of operations on an engine, the same for
// every store it plays on.
type scenario struct {
	start time.Time
	ops   []scenarioOp
}

type scenarioOp struct {
	kind    string // "track", "track all", "advance", "stop", "publish", "edit", "restart"
	events  []event.Event
	advance time.Duration
	id      string // the follow-up stopped or published
}

func (o scenarioOp) String() string {
	switch o.kind {
	case "advance":
		return "advance " + o.advance.String()
	case "stop", "publish", "edit":
		return o.kind + " " + o.id
	case "restart":
		return o.kind
	}
	var ids []string
	for _, ev := range o.events {
		ids = append(ids, fmt.Sprintf("%s/%s/%s", ev.UserID, ev.Kind, ev.ID))
	}
	return o.kind + " " + strings.Join(ids, " ")
}

func scenarioCampaigns() []rule.Campaign {
	return []rule.Campaign{
		{ID: "news", Channel: event.Email},
		{ID: "push", Channel: event.Push},
		{ID: "resend", Channel: event.Email, Message: json.RawMessage(`{"subject":"again"}`),
			Triggers:   []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "news"}},
			Delay:      rule.After(6 * time.Hour),
			Exceptions: []rule.Exception{{Kind: event.EmailOpened, CampaignID: "news"}}},
		{ID: "nudge", Channel: event.Push, Triggers: []rule.Trigger{{Kind: event.PushReceived, CampaignID: "push"}},
			Reeligibility: rule.ReeligibleAfter(3 * time.Hour), RateLimit: 2},
		{ID: "thanks", Channel: event.Email, Triggers: []rule.Trigger{{Kind: event.Purchase}},
			Delay: rule.After(30 * time.Minute), ControlPercent: 50, // holds out u0, u1 and u5
			Conversions: []rule.Conversion{{ID: "again", Kind: event.Purchase, Deadline: 48 * time.Hour}}},
		{ID: "daytime", Channel: event.SMS, Triggers: []rule.Trigger{{Kind: event.PushOpened, CampaignID: "push"}},
			Delay:      rule.After(2 * time.Hour),
			SendWindow: &rule.SendWindow{From: rule.At(9, 0), To: rule.At(17, 0), NextAvailable: true}},
		{ID: "night", Channel: event.Email,
			Triggers:      []rule.Trigger{{Kind: event.EmailAliasClicked, CampaignID: "news", Target: "offer"}},
			Delay:         rule.InDaysAt(1, 2, 30), // on the night clocks go forward in Paris, 02:30 does not exist
			PendingPolicy: rule.ReplaceWithLatest, Reeligibility: rule.ReeligibleAfter(0),
			Exceptions: []rule.Exception{{Kind: event.EmailAliasClicked, CampaignID: "news", Target: "stop"}}},
	}
}

var followUps = []string{"resend", "nudge", "thanks", "daytime", "night"}

// editedCampaigns returns the campaigns with follow-up id edited: its
// delay, message and pending policy changed, as a new version of the
// host's code would.
func editedCampaigns(id string, version int) []rule.Campaign {
	cs := scenarioCampaigns()
	for i := range cs {
		if cs[i].ID != id {
			continue
		}
		cs[i].Message = json.RawMessage(fmt.Sprintf(`{"version":%d}`, version))
		if version%2 == 1 {
			cs[i].Delay = rule.After(time.Duration(version) * 45 * time.Minute)
			cs[i].PendingPolicy = rule.AllowParallel
			cs[i].Exceptions = nil
		}
	}
	return cs
}

func newScenario(seed uint64) scenario {
	r := rand.New(rand.NewPCG(seed, 0x73716c69746521))
	// Some days before clocks go forward in Paris (29 March 2026).
	sc := scenario{start: time.Date(2026, 3, 26, 7, 0, 0, 0, time.UTC).Add(time.Duration(r.IntN(3*24*60)) * time.Minute)}
	users := 2 + r.IntN(6)
	kinds := []event.Kind{event.EmailReceived, event.EmailOpened, event.PushReceived, event.PushOpened, event.Purchase, event.EmailAliasClicked}
	campaignOf := map[event.Kind]string{event.EmailReceived: "news", event.EmailOpened: "news",
		event.PushReceived: "push", event.PushOpened: "push", event.EmailAliasClicked: "news"}
	var elapsed time.Duration // the clock's advance so far, for backdated events
	nextID := 0
	var sent []event.Event // tracked events with an ID, for provider retries
	newEvent := func() event.Event {
		if len(sent) > 0 && r.IntN(8) == 0 {
			return sent[r.IntN(len(sent))] // the provider's retry
		}
		k := kinds[r.IntN(len(kinds))]
		ev := event.Event{UserID: fmt.Sprint("u", r.IntN(users)), Kind: k, CampaignID: campaignOf[k]}
		if k == event.Purchase {
			ev.Name = "sku"
			ev.Properties = map[string]any{"price": r.IntN(100)}
		}
		if k == event.EmailAliasClicked {
			ev.Target = []string{"offer", "offer", "stop", "other"}[r.IntN(4)]
		}
		if elapsed > 0 && r.IntN(6) == 0 { // backdated: it happened some time ago
			ev.Time = sc.start.Add(time.Duration(r.Int64N(int64(elapsed))).Truncate(time.Minute))
		}
		if r.IntN(4) > 0 {
			nextID++
			ev.ID = fmt.Sprint("e", nextID)
			sent = append(sent, ev)
		}
		return ev
	}
	for range 60 + r.IntN(60) {
		switch w := r.IntN(100); {
		case w < 40:
			sc.ops = append(sc.ops, scenarioOp{kind: "track", events: []event.Event{newEvent()}})
		case w < 55:
			op := scenarioOp{kind: "track all"}
			for range 2 + r.IntN(12) {
				op.events = append(op.events, newEvent())
			}
			sc.ops = append(sc.ops, op)
		case w < 92:
			d := time.Duration(1+r.IntN(90)) * time.Minute
			if r.IntN(4) == 0 {
				d = time.Duration(1+r.IntN(30)) * time.Hour
			}
			elapsed += d
			sc.ops = append(sc.ops, scenarioOp{kind: "advance", advance: d})
		case w < 94:
			sc.ops = append(sc.ops, scenarioOp{kind: "stop", id: followUps[r.IntN(len(followUps))]})
		case w < 97:
			sc.ops = append(sc.ops, scenarioOp{kind: "publish", id: followUps[r.IntN(len(followUps))]})
		case w < 99:
			sc.ops = append(sc.ops, scenarioOp{kind: "edit", id: followUps[r.IntN(len(followUps))]})
		default:
			sc.ops = append(sc.ops, scenarioOp{kind: "restart"})
		}
	}
	sc.ops = append(sc.ops, scenarioOp{kind: "advance", advance: 72 * time.Hour})
	return sc
}
