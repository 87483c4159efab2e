package dashboard

import (
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
)

// maxUserID bounds the user ID the user page looks up, and the campaign ID
// the campaign page does, as the engine's default limits bound the IDs
// events carry.
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
		h.problem(w, r, http.StatusBadRequest, "That user ID is longer than any the engine accepts.")
		return
	}
	if err := event.CheckText(id); err != nil {
		h.problem(w, r, http.StatusBadRequest, "That user ID "+err.Error()+": the engine accepts no such ID.")
		return
	}
	ctx := r.Context()
	recs, err := h.src.Campaigns(ctx)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	xs, err := h.src.ExplainUser(ctx, id)
	if errors.Is(err, connector.ErrNoDecisionLog) {
		body.NoLog = true
		xs, err = nil, nil
	}
	if err != nil {
		h.fail(w, r, err)
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
		for _, d := range x.Decisions {
			if d.Kind == rule.Delivered {
				f.Sent++
			}
			body.Timeline = append(body.Timeline, timelineEntry{At: d.At, CampaignID: d.CampaignID, Decision: d, Words: decisionWords(d, h.cfg.location, acts)})
		}
		body.FollowUps = append(body.FollowUps, f)
	}
	slices.SortStableFunc(body.Timeline, func(a, b timelineEntry) int { return a.At.Compare(b.At) })
	h.render(w, r, http.StatusOK, "user", page{Title: "User " + id, Nav: "user", Body: body})
}
