package connectortest

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/campaignconnector/campaignconnector/internal/linetext"
	"github.com/campaignconnector/campaignconnector/rule"
)

// Timeline renders every decision observed so far, one per line, except
// the [rule.Applied] decisions of [Harness.Apply], which concern no user:
// each run of them at one time (an Apply, or several in a row at that
// time) is one line, with that time, that counts them by reason, followed
// by a line per campaign it edited saying what changed ("resend: delay
// after 24h0m0s → after 48h0m0s"). A campaign ID holding a space, a
// quote, a backslash or an invisible character is quoted ("re send"; resend
// stays as it is), and a detail's line breaks and control characters
// escaped, as in the lines of the decisions about users, so that the
// host's text cannot start a line.
func (h *Harness) Timeline() string {
	var b strings.Builder
	b.WriteString("timeline:\n")
	ds := h.Decisions()
	if len(ds) == 0 {
		b.WriteString("  (no decisions)\n")
	}
	for i := 0; i < len(ds); i++ {
		if ds[i].Kind != rule.Applied {
			fmt.Fprintf(&b, "  %s\n", ds[i])
			continue
		}
		j := i
		for j < len(ds) && ds[j].Kind == rule.Applied && ds[j].At.Equal(ds[i].At) {
			j++
		}
		fmt.Fprintf(&b, "  %s\n", appliedLine(ds[i:j]))
		for _, d := range ds[i:j] {
			if changed, ok := editedFields(d); ok {
				fmt.Fprintf(&b, "    %s: %s\n", linetext.Field(d.CampaignID), linetext.Prose(changed))
			}
		}
		i = j - 1
	}
	return b.String()
}

// appliedLine sums up a run of applied decisions: "2026-01-05T00:00:00Z
// applied: created 2, published 2 (newsletter, resend)".
func appliedLine(ds []rule.Decision) string {
	var reasons []rule.Reason
	count := map[rule.Reason]int{}
	var ids []string
	for _, d := range ds {
		if count[d.Reason] == 0 {
			reasons = append(reasons, d.Reason)
		}
		count[d.Reason]++
		if id := linetext.Field(d.CampaignID); !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	parts := make([]string, len(reasons))
	for i, r := range reasons {
		verb, ok := appliedVerbs[r]
		if !ok {
			verb = string(r)
		}
		parts[i] = fmt.Sprintf("%s %d", verb, count[r])
	}
	slices.Sort(ids)
	return fmt.Sprintf("%s applied: %s (%s)", ds[0].At.UTC().Format(time.RFC3339), strings.Join(parts, ", "), strings.Join(ids, ", "))
}

// editedPrefix begins the detail of an edited decision, before what
// changed.
const editedPrefix = "definition saved: "

// editedFields returns what an edited decision says changed, without the
// prefix of its detail; ok is false for other decisions and for an edit
// that names no change.
func editedFields(d rule.Decision) (changed string, ok bool) {
	if d.Reason != rule.ReasonEdited {
		return "", false
	}
	changed, ok = strings.CutPrefix(d.Detail, editedPrefix)
	return changed, ok && changed != ""
}

// appliedVerbs names the reasons of applied decisions as Apply's log
// summary does.
var appliedVerbs = map[rule.Reason]string{
	rule.ReasonCreated:         "created",
	rule.ReasonEdited:          "edited",
	rule.ReasonPublished:       "published",
	rule.ReasonCampaignStopped: "stopped",
}
