package rule

import (
	"fmt"
	"strings"

	"github.com/campaignconnector/campaignconnector/event"
)

// Trigger selects the events that make a follow-up due: an interaction of
// kind Kind with campaign CampaignID (and, when Target is set, that
// sub-selector), or a non-campaign event (a custom event by Name, a
// purchase of any product or of product Name, a session start). Every
// condition in Where must hold on the event's properties.
type Trigger struct {
	Kind       event.Kind  `json:"kind"`
	CampaignID string      `json:"campaign_id,omitempty"` // the original; interactions only
	Target     string      `json:"target,omitempty"`      // "" matches any sub-selector
	Name       string      `json:"name,omitempty"`        // custom event name or product id; "" matches any purchase
	Where      []Condition `json:"where,omitempty"`
}

// Exception selects the events that cancel a pending delivery while the
// user waits for it: from the trigger's time (an exception stamped in the
// same instant cancels when it is processed after the trigger) to before
// the due time. It matches events exactly like a [Trigger] with the same
// fields.
type Exception struct {
	Kind       event.Kind  `json:"kind"`
	CampaignID string      `json:"campaign_id,omitempty"`
	Target     string      `json:"target,omitempty"`
	Name       string      `json:"name,omitempty"`
	Where      []Condition `json:"where,omitempty"`
}

// Matches reports whether ev is selected by t. It does not look at time or
// lifecycle: those are the engine's business.
func (t Trigger) Matches(ev *event.Event) bool {
	return matches(t.Kind, t.CampaignID, t.Target, t.Name, t.Where, ev)
}

// Matches reports whether ev is selected by x.
func (x Exception) Matches(ev *event.Event) bool {
	return matches(x.Kind, x.CampaignID, x.Target, x.Name, x.Where, ev)
}

// Validate reports the trigger's problems as [*ValidationError] values.
func (t Trigger) Validate() error {
	return validateMatcher("trigger", t.Kind, t.CampaignID, t.Target, t.Name, t.Where)
}

// Validate reports the exception's problems as [*ValidationError] values.
func (x Exception) Validate() error {
	return validateMatcher("exception", x.Kind, x.CampaignID, x.Target, x.Name, x.Where)
}

// String renders the trigger for explanations:
// `email_opened of "newsletter"`, `purchase of "sku-1" where price > 50`.
func (t Trigger) String() string { return describe(t.Kind, t.CampaignID, t.Target, t.Name, t.Where) }

// String renders the exception like [Trigger.String].
func (x Exception) String() string {
	return describe(x.Kind, x.CampaignID, x.Target, x.Name, x.Where)
}

func matches(kind event.Kind, campaignID, target, name string, where []Condition, ev *event.Event) bool {
	if ev.Kind != kind || ev.CampaignID != campaignID ||
		(target != "" && ev.Target != target) || (name != "" && ev.Name != name) {
		return false
	}
	for i := range where {
		if !where[i].Eval(ev.Properties) {
			return false
		}
	}
	return true
}

// validateMatcher reports the problems of a trigger, an exception or a
// conversion's selection, object naming which in the errors.
func validateMatcher(object string, kind event.Kind, campaignID, target, name string, where []Condition) error {
	p := event.Problems{Object: object}
	if event.CheckKind(&p, kind) {
		event.CheckSelectors(&p, kind, campaignID, target, name)
	}
	addText(&p, "campaign_id", campaignID)
	addText(&p, "target", target)
	addText(&p, "name", name)
	for i, c := range where {
		p.AddErr(fmt.Sprintf("where[%d]", i), c.Validate())
	}
	return p.Err()
}

func describe(kind event.Kind, campaignID, target, name string, where []Condition) string {
	var b strings.Builder
	b.WriteString(string(kind))
	if campaignID != "" {
		fmt.Fprintf(&b, " of %q", campaignID)
	}
	if target != "" {
		fmt.Fprintf(&b, " [%s]", target)
	}
	if name != "" {
		fmt.Fprintf(&b, " %q", name)
	}
	for i, c := range where {
		if i == 0 {
			b.WriteString(" where ")
		} else {
			b.WriteString(" and ")
		}
		b.WriteString(c.String())
	}
	return b.String()
}
