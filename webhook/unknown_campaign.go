package webhook

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/internal/linetext"
	"github.com/campaignconnector/campaignconnector/store"
)

// CampaignLookup is a [Tracker] that can look a campaign up;
// *connector.Engine implements it. A [Handler] whose tracker has it tells
// apart, in [Response.UnknownCampaign], the tracked events that name a
// campaign the engine does not know: the engine accepts them (Track
// returns nil) and ignores them, most often because of a typo in the
// metadata of the host's messages. Campaign returns an error wrapping
// [connector.ErrUnknownCampaign] for such a campaign.
type CampaignLookup interface {
	Campaign(ctx context.Context, id string) (store.CampaignRecord, error)
}

// unknownCampaigns counts the events of tracked that name a campaign the
// tracker does not know, when it can say, and lists those campaigns. Its
// error wraps [connector.ErrUnknownCampaign] and names them (the first 20,
// and how many more), with the known campaigns they most likely misspell
// when the tracker lists them (as *connector.Engine does), joined with the errors of the look-ups that failed:
// after 5 failures, the other campaigns are not looked up and count as
// known, as those whose look-up failed, and an error says how many. It is
// nil when there are none.
func (h *Handler) unknownCampaigns(ctx context.Context, tracked []event.Event) (count int, ids []string, err error) {
	cl, ok := h.tracker.(CampaignLookup)
	if !ok || len(tracked) == 0 {
		return 0, nil, nil
	}
	known := make(map[string]bool) // one look-up per campaign of the request
	var failed []error
	skipped := 0 // campaigns not looked up, after maxErrorsNamed failures
	for _, ev := range tracked {
		id := ev.CampaignID
		if id == "" {
			continue
		}
		isKnown, looked := known[id]
		if !looked {
			if len(failed) >= maxErrorsNamed {
				// The store fails: spare it a look-up per campaign, and
				// count the campaign as known, as one whose look-up failed.
				isKnown = true
				skipped++
			} else {
				_, err := cl.Campaign(ctx, id)
				switch {
				case err == nil:
					isKnown = true
				case errors.Is(err, connector.ErrUnknownCampaign):
					ids = append(ids, id)
				default: // counted as known: the engine may well know it
					isKnown = true
					failed = append(failed, fmt.Errorf("webhook: looking campaign %q up: %w", id, err))
				}
			}
			known[id] = isKnown
		}
		if !isKnown {
			count++
		}
	}
	if count > 0 {
		slices.Sort(ids)
		events, names := "events name campaigns", "them"
		if count == 1 {
			events, names = "event names a campaign", "it"
		} else if len(ids) == 1 {
			events = "events name a campaign"
		}
		failed = append([]error{fmt.Errorf("webhook: %d tracked %s the engine does not know, %s, and no follow-up uses %s: "+
			"fix the campaign ID in your messages' metadata, or save the campaign%s: %w",
			count, events, idList(ids), names, h.suggestions(ids), connector.ErrUnknownCampaign)}, failed...)
	}
	if skipped > 0 {
		failed = append(failed, fmt.Errorf("webhook: %d more campaigns not looked up after %d look-ups failed", skipped, maxErrorsNamed))
	}
	return count, ids, errors.Join(failed...)
}

// unknownLister is a tracker that lists the unknown campaign IDs it met,
// with the known campaign each most likely misspells; *connector.Engine
// implements it.
type unknownLister interface {
	UnknownCampaigns() []connector.UnknownCampaign
}

// suggestions is ` (did you mean "newsletter" for "newsleter"?)`, for
// those of the first maxIDsNamed of ids, sorted, that the tracker's list
// of unknown campaigns (the latest eight) suggests a known campaign for,
// or "" when it suggests none or has no list.
func (h *Handler) suggestions(ids []string) string {
	ul, ok := h.tracker.(unknownLister)
	if !ok {
		return ""
	}
	suggested := make(map[string]string)
	for _, u := range ul.UnknownCampaigns() {
		if u.Suggestion != "" {
			suggested[u.ID] = u.Suggestion
		}
	}
	var pairs []string
	for _, id := range ids[:min(len(ids), maxIDsNamed)] {
		if x, ok := suggested[id]; ok {
			pairs = append(pairs, fmt.Sprintf("%q for %q", x, id))
		}
	}
	if len(pairs) == 0 {
		return ""
	}
	return " (did you mean " + strings.Join(pairs, ", ") + "?)"
}

// maxIDsNamed and maxErrorsNamed bound what the error of a request names
// (a request may name thousands of made-up campaigns, and the error is
// logged for each request), and maxErrorsNamed the look-ups of a request
// whose look-ups fail (the store does not answer: a look-up per campaign
// would wait on it thousands of times).
const (
	maxIDsNamed    = 20
	maxErrorsNamed = 5
)

// idList quotes ids, the first maxIDsNamed only, followed by how many more
// there are: ["a" "b"], or ["a" … "t"] and 3459 more.
func idList(ids []string) string { return linetext.QuotedFirst(ids, maxIDsNamed) }
