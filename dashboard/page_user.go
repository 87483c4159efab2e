package dashboard

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
)

// maxUserID bounds the user ID the user page looks up, and the campaign ID
// the campaign pages do (one events named, known or not), as
// [event.MaxIDBytes] bounds the IDs events carry.
const maxUserID = 1024

// userBody is the page of one user: their timeline with every follow-up.
type userBody struct {
	UserID string
	// NoLog is set when the engine keeps no decision log to explain from.
	NoLog     bool
	FollowUps []userFollowUp
	Timeline  []timelineEntry
}

// userFollowUp is what the engine recorded about the user and one follow-up.
type userFollowUp struct {
	CampaignID  string
	Explanation connector.Explanation
	Sent        int
}

// timelineEntry is one decision about the user, in time order across
// follow-ups.
type timelineEntry struct {
	At         time.Time
	CampaignID string
	Decision   rule.Decision
	Words      string
}

func (h *handler) userPage(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("id")
	body := userBody{UserID: id}
	if id == "" {
		h.render(w, r, http.StatusOK, "user", page{Title: "Users", Nav: "user", Body: body})
		return
	}
	if len(id) > maxUserID {
		h.problem(w, http.StatusBadRequest, "That user ID is longer than any the engine accepts.")
		return
	}
	if err := event.CheckText(id); err != nil {
		h.problem(w, http.StatusBadRequest, "That user ID "+err.Error()+": the engine accepts no such ID.")
		return
	}
	ctx := r.Context()
	recs, err := h.src.Campaigns(ctx)
	if err != nil {
		h.unavailable(w, r, err)
		return
	}
	xs, err := h.src.ExplainUser(ctx, id)
	if errors.Is(err, connector.ErrNoDecisionLog) {
		body.NoLog = true
		xs, err = nil, nil
	}
	if err != nil {
		h.unavailable(w, r, err)
		return
	}
	byCampaign := make(map[string]connector.Explanation, len(xs))
	for _, x := range xs {
		byCampaign[x.CampaignID] = x
	}
	for _, rec := range recs {
		x, ok := byCampaign[rec.Campaign.ID] // only campaigns the user has anything of
		if !rec.Campaign.IsFollowUp() || !ok {
			continue
		}
		f := userFollowUp{CampaignID: rec.Campaign.ID, Explanation: x}
		acts := actionsOf(&rec.Campaign)
		cut := cutShort(x.Decisions)
		for i, d := range x.Decisions {
			if d.Kind == rule.Delivered {
				f.Sent++
			}
			words := decisionWords(d, h.cfg.location, acts)
			if cut[i] {
				words += fmt.Sprintf(" (attempt %d was cut short before its outcome was recorded, its engine stopped: the user may have received it then too)", d.Attempt-1)
			}
			body.Timeline = append(body.Timeline, timelineEntry{At: d.At, CampaignID: d.CampaignID, Decision: d, Words: words})
		}
		body.FollowUps = append(body.FollowUps, f)
	}
	slices.SortStableFunc(body.Timeline, func(a, b timelineEntry) int { return a.At.Compare(b.At) })
	h.render(w, r, http.StatusOK, "user", page{Title: "User " + id, Nav: "user", Body: body})
}

// cutShort returns the indices of the send outcomes among ds (one user's
// decisions about one follow-up, as the log keeps them, in the order they
// were made) whose previous attempt has no outcome of its own: an engine
// confirmed it, then stopped or lost the store before recording it, and
// the delivery was sent again after its lease, so the user may have
// received both. A send's outcome is a delivery, a retry or a failure,
// but not a directory outage's retries and failure: they keep the count
// of the last attempt made, and make none. Only deliveries whose
// scheduling the log still holds are judged (for the others, the log may
// have dropped the earlier attempt's outcome), each from its latest
// scheduling on (a replayed trigger schedules one again, with the same ID).
func cutShort(ds []rule.Decision) map[int]bool {
	retried := map[string]map[int]bool{} // by delivery since its scheduling: the attempts retried
	var out map[int]bool
	for i, d := range ds {
		if d.DeliveryID == "" {
			continue
		}
		if d.Kind == rule.Scheduled {
			retried[d.DeliveryID] = map[int]bool{}
			continue
		}
		tried, ok := retried[d.DeliveryID]
		if !ok || !sendOutcome(d) {
			continue
		}
		if d.Attempt > 1 && !tried[d.Attempt-1] {
			if out == nil {
				out = map[int]bool{}
			}
			out[i] = true
		}
		if d.Kind == rule.Retried {
			tried[d.Attempt] = true
		}
	}
	return out
}

// sendOutcome reports whether d is the outcome of a send: delivered, or
// retried or failed other than for a directory error.
func sendOutcome(d rule.Decision) bool {
	switch d.Kind {
	case rule.Delivered:
		return true
	case rule.Retried, rule.Failed:
		return d.Reason != rule.ReasonDirectoryError
	}
	return false
}
