package dashboard

import (
	"strings"

	"github.com/campaignconnector/campaignconnector/rule"
)

// reasonPhrases says each reason of package rule as a campaign manager
// reads it. A phrase follows "suppressed: ", "cancelled: " or a warning's
// bullet, and stands alone in a breakdown, so it starts in lower case and
// names no code. A test fails when a Reason constant has no phrase here.
var reasonPhrases = map[rule.Reason]string{
	rule.ReasonBeforeActivation:           "trigger came before the follow-up was published or resumed",
	rule.ReasonOriginalNotActive:          "original campaign not active (a draft, stopped or archived)",
	rule.ReasonOutsideDuration:            "outside the campaign's start and end dates",
	rule.ReasonNotInAudience:              "user not in the audience",
	rule.ReasonAlreadyPending:             "user already waiting for this follow-up",
	rule.ReasonNotReeligible:              "already received it, not eligible again (or not yet)",
	rule.ReasonDuplicateEvent:             "same event received twice",
	rule.ReasonException:                  "exception happened while the user waited",
	rule.ReasonUnknownCampaign:            "names a campaign that does not exist",
	rule.ReasonBeforeTrigger:              "exception came before the trigger",
	rule.ReasonAfterDue:                   "exception came at or after the due time",
	rule.ReasonAfterSend:                  "exception that happened before the user last received the follow-up, tracked after that delivery",
	rule.ReasonCampaignStopped:            "campaign stopped or archived",
	rule.ReasonReplaced:                   "replaced by a newer trigger",
	rule.ReasonLate:                       "already due when scheduled, sent at once",
	rule.ReasonSendError:                  "the sending service returned an error",
	rule.ReasonDraftFollowUp:              "a follow-up of an active original is still a draft",
	rule.ReasonDelayExceedsDuration:       "can never fall due within the campaign's dates or send window",
	rule.ReasonArchivedCampaign:           "names an archived campaign",
	rule.ReasonCycle:                      "follow-ups trigger each other in a loop",
	rule.ReasonExceptionNeverWhileWaiting: "exception can never happen while a user waits",
	rule.ReasonChannelMismatch:            "names an interaction of a channel the campaign is not sent on",
	rule.ReasonOverdueDeliveries:          "deliveries are overdue: is the engine running?",
	rule.ReasonOutsideSendWindow:          "outside the send window",
	rule.ReasonQuietHours:                 "in quiet hours",
	rule.ReasonNoChannel:                  "sets no channel: no frequency cap counts it",
	rule.ReasonFrequencyCapped:            "user reached a frequency cap",
	rule.ReasonRateLimited:                "the follow-up's rate limit (per minute) reached",
	rule.ReasonControlGroup:               "user in the control group",
	rule.ReasonTriggerTooOld:              "trigger too old when it arrived",
	rule.ReasonTriggerTooFarAhead:         "trigger stamped too far in the future when it arrived",
	rule.ReasonDirectoryError:             "the user directory (time zone, segments) failed",
	rule.ReasonCreated:                    "campaign created",
	rule.ReasonEdited:                     "campaign definition changed",
	rule.ReasonPublished:                  "campaign published",
}

// reasonWords says a reason in words: "not_in_audience" → "user not in
// the audience". A reason without a phrase (one a newer engine or a store
// of the host's brings) is its code with spaces for underscores.
func reasonWords(r rule.Reason) string {
	if s, ok := reasonPhrases[r]; ok {
		return s
	}
	return strings.ReplaceAll(string(r), "_", " ")
}

// exceptionWords says that the exception x, as its String form, cancelled
// a delivery: the phrase of ReasonException with the exception named, as
// what the user does when a is the campaign's actions and has it, else as
// recorded (an exception the campaign no longer has).
func exceptionWords(x string, a actions) string {
	if w, ok := a[x]; ok {
		return "while waiting, the user " + w + " (exception)"
	}
	return x + " happened while the user waited (exception)"
}
