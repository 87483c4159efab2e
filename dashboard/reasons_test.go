package dashboard

import (
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/rule"
)

// reasonConstants returns every reason a decision can carry
// ([rule.Reasons], which package rule's own test checks against its
// source), each by its name in the messages: Reason("exception").
func reasonConstants(t *testing.T) map[string]rule.Reason {
	t.Helper()
	out := map[string]rule.Reason{}
	for _, r := range rule.Reasons() {
		out["Reason("+strconv.Quote(string(r))+")"] = r
	}
	return out
}

// Every reason the engine can give reads as a phrase, not as its code:
// a Reason constant added to package rule without a phrase in
// reasonPhrases fails here.
func TestEveryReasonHasAPhrase(t *testing.T) {
	consts := reasonConstants(t)
	if len(consts) < 30 {
		t.Fatalf("rule.Reasons lists %d reasons: too few", len(consts))
	}
	seen := map[string]string{}
	for name, r := range consts {
		phrase, ok := reasonPhrases[r]
		switch {
		case !ok:
			t.Errorf("rule.%s (%q) has no phrase in reasonPhrases", name, r)
			continue
		case phrase == "" || strings.Contains(phrase, "_") || phrase == strings.ReplaceAll(string(r), "_", " "):
			t.Errorf("rule.%s reads %q: the code, not a phrase", name, phrase)
		case phrase != strings.ToLower(phrase[:1])+phrase[1:]:
			t.Errorf("rule.%s reads %q: a phrase follows a colon, in lower case", name, phrase)
		}
		if other, dup := seen[phrase]; dup {
			t.Errorf("rule.%s and rule.%s both read %q", name, other, phrase)
		}
		seen[phrase] = name
		if got := reasonWords(r); got != phrase {
			t.Errorf("reasonWords(%q) = %q, want %q", r, got, phrase)
		}
	}
	for r := range reasonPhrases {
		found := false
		for _, c := range consts {
			found = found || c == r
		}
		if !found {
			t.Errorf("reasonPhrases has %q, which no Reason constant holds", r)
		}
	}
	if got := reasonWords("some_new_reason"); got != "some new reason" {
		t.Errorf("a reason without a phrase reads %q, want its code in words", got)
	}
}

// sharedTerms holds, for each reason, the words that the dashboard's
// phrase and Engine.Explain's clause both say it with: the two differ in
// shape ("user not in the audience", "the user is not in the audience"),
// not in terms.
var sharedTerms = map[rule.Reason][]string{
	rule.ReasonBeforeActivation:           {"came before the follow-up was published or resumed"},
	rule.ReasonOriginalNotActive:          {"original campaign", "not active (a draft, stopped or archived)"},
	rule.ReasonOutsideDuration:            {"outside the campaign's start and end dates"},
	rule.ReasonNotInAudience:              {"not in the audience"},
	rule.ReasonAlreadyPending:             {"already wait", "for this follow-up"},
	rule.ReasonNotReeligible:              {"not eligible again"},
	rule.ReasonDuplicateEvent:             {"same event", "received twice"},
	rule.ReasonException:                  {"exception happened while the user waited"},
	rule.ReasonUnknownCampaign:            {"names a campaign"},
	rule.ReasonBeforeTrigger:              {"before the trigger"},
	rule.ReasonAfterDue:                   {"at or after the due time"},
	rule.ReasonAfterSend:                  {"before the user last received the follow-up", "tracked after that delivery"},
	rule.ReasonCampaignStopped:            {"stopped or archived"},
	rule.ReasonReplaced:                   {"replaced by a newer trigger"},
	rule.ReasonLate:                       {"already due when scheduled"},
	rule.ReasonSendError:                  {"returned an error"},
	rule.ReasonDraftFollowUp:              {"a follow-up of", "is still a draft"},
	rule.ReasonDelayExceedsDuration:       {"can never fall due within the campaign's dates or send window"},
	rule.ReasonArchivedCampaign:           {"names an archived campaign"},
	rule.ReasonCycle:                      {"follow-ups trigger each other in a loop"},
	rule.ReasonExceptionNeverWhileWaiting: {"exception can never happen while a user waits"},
	rule.ReasonChannelMismatch:            {"names an interaction of a channel the campaign is not sent on"},
	rule.ReasonOverdueDeliveries:          {"deliveries are overdue: is the engine running?"},
	rule.ReasonOutsideSendWindow:          {"outside the send window"},
	rule.ReasonQuietHours:                 {"in quiet hours"},
	rule.ReasonNoChannel:                  {"sets no channel: no frequency cap counts it"},
	rule.ReasonFrequencyCapped:            {"user reached a frequency cap"},
	rule.ReasonRateLimited:                {"the follow-up's rate limit (per minute)"},
	rule.ReasonControlGroup:               {"in the control group"},
	rule.ReasonTriggerTooOld:              {"trigger", "too old when it arrived"},
	rule.ReasonTriggerTooFarAhead:         {"trigger", "stamped too far in the future when it arrived"},
	rule.ReasonDirectoryError:             {"the user directory (time zone, segments) failed"},
	rule.ReasonCreated:                    {"campaign", "created"},
	rule.ReasonEdited:                     {"campaign definition changed"},
	rule.ReasonPublished:                  {"campaign", "published"},
}

// explainWords is what Engine.Explain says of reason r, after the colon
// of a deferral.
func explainWords(t *testing.T, r rule.Reason) string {
	t.Helper()
	at := time.Date(2026, time.January, 5, 0, 0, 0, 0, time.UTC)
	x := connector.Explanation{UserID: "ann", CampaignID: "resend", Decisions: []rule.Decision{{Kind: rule.Deferred, Reason: r, At: at}}}
	_, words, ok := strings.Cut(x.String(), at.Format(time.RFC3339)+" deferred: ")
	if !ok {
		t.Fatalf("Explain's line of a deferral changed shape:\n%s", x)
	}
	words = strings.TrimSuffix(strings.TrimSuffix(words, "\n"), " (late)")
	return words
}

// The user page and Engine.Explain tell the same people why the same
// thing happened: each reason reads in both, in the same terms. A Reason
// constant added to package rule without words in Explain, or a phrase of
// either that drifts from the other's terms, fails here.
func TestExplainAndTheDashboardSayEveryReasonAlike(t *testing.T) {
	consts := reasonConstants(t)
	for name, r := range consts {
		explain := explainWords(t, r)
		if explain == string(r) || strings.Contains(explain, "_") {
			t.Errorf("rule.%s: Explain says %q, the code, not words (connector's reasonTexts)", name, explain)
		}
		terms, ok := sharedTerms[r]
		if !ok {
			t.Errorf("rule.%s: no entry in sharedTerms: give the words its dashboard phrase %q and Explain's %q share", name, reasonWords(r), explain)
			continue
		}
		for _, term := range terms {
			if !strings.Contains(reasonWords(r), term) || !strings.Contains(explain, term) {
				t.Errorf("rule.%s: %q and %q do not both say %q", name, reasonWords(r), explain, term)
			}
		}
	}
	for r := range sharedTerms {
		if !slices.Contains(slices.Collect(maps.Values(consts)), r) {
			t.Errorf("sharedTerms has %q, which no Reason constant holds", r)
		}
	}
}
