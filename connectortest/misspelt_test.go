package connectortest_test

import (
	"strings"
	"testing"

	"github.com/campaignconnector/campaignconnector/connectortest"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/stretchr/testify/require"
)

// An assertion given a kind or a reason that does not exist says so,
// with the one it most likely misspells: such an entry matches no
// decision, and the failure would otherwise read as the engine's fault.
func TestMisspeltKindsAndReasons(t *testing.T) {
	for _, tc := range []struct {
		name     string
		fn       func(h *connectortest.Harness)
		prefix   string
		contains []string
	}{
		{"RequireKinds, a misspelt kind", func(h *connectortest.Harness) {
			h.RequireKinds("bob", "resend", "scheduled", "canceled")
		}, `connectortest: decisions about "resend" for "bob":`,
			[]string{"\nwant \"canceled\" matches no decision: \"canceled\" is no decision kind (did you mean \"cancelled\"?)\n"}},
		{"RequireKinds, a kind in other words", func(h *connectortest.Harness) {
			h.RequireKinds("ann", "resend", "scheduled", "sent")
		}, `connectortest: decisions about "resend" for "ann":`,
			[]string{`want "sent" matches no decision: "sent" is no decision kind (did you mean "delivered"?)`}},
		{"RequireKinds, another case", func(h *connectortest.Harness) {
			h.RequireKinds("ann", "resend", "Scheduled", "delivered")
		}, `connectortest: decisions about "resend" for "ann":`,
			[]string{`"Scheduled" is no decision kind (did you mean "scheduled"?)`}},
		{"RequireKinds, a misspelt kind with a reason", func(h *connectortest.Harness) {
			h.RequireKinds("bob", "resend", "scheduled", "suppresed/already_pending")
		}, `connectortest: decisions about "resend" for "bob":`,
			[]string{`want "suppresed/already_pending" matches no decision: "suppresed" is no decision kind (did you mean "suppressed"?)`}},
		{"RequireKinds, a misspelt reason", func(h *connectortest.Harness) {
			h.RequireKinds("bob", "resend", "scheduled", "cancelled/exceptoin")
		}, `connectortest: decisions about "resend" for "bob":`,
			[]string{`want "cancelled/exceptoin" matches no decision: "exceptoin" is no reason the engine gives (did you mean "exception"?)`}},
		{"RequireKinds, both misspelt", func(h *connectortest.Harness) {
			h.RequireKinds("bob", "resend", "scheduled", "canceled/exceptoin")
		}, `connectortest: decisions about "resend" for "bob":`,
			[]string{`"canceled" is no decision kind (did you mean "cancelled"?); "exceptoin" is no reason the engine gives (did you mean "exception"?)`}},
		{"RequireKinds, a made-up kind lists the kinds", func(h *connectortest.Harness) {
			h.RequireKinds("bob", "resend", "scheduled", "zapped")
		}, `connectortest: decisions about "resend" for "bob":`,
			[]string{`"zapped" is no decision kind (the kinds are scheduled, suppressed, cancelled, `}},
		{"RequireKinds, a made-up reason", func(h *connectortest.Harness) {
			h.RequireKinds("bob", "resend", "scheduled", "cancelled/whatever")
		}, `connectortest: decisions about "resend" for "bob":`,
			[]string{`"whatever" is no reason the engine gives (rule.Reasons lists them)`}},
		{"RequireKinds, an empty reason", func(h *connectortest.Harness) {
			h.RequireKinds("ann", "resend", "scheduled/", "delivered")
		}, `connectortest: decisions about "resend" for "ann":`,
			[]string{`want "scheduled/" matches no decision: a decision with no reason is written "scheduled"`}},
		{"RequireReason, a misspelt kind", func(h *connectortest.Harness) {
			h.RequireReason("bob", "resend", "canceled", rule.ReasonException)
		}, `connectortest: want a canceled (exception) decision about "resend" for "bob"`,
			[]string{"\n\"canceled\" is no decision kind (did you mean \"cancelled\"?): no decision can match\n"}},
		{"RequireReason, a misspelt reason", func(h *connectortest.Harness) {
			h.RequireReason("bob", "resend", rule.Cancelled, "exceptoin")
		}, `connectortest: want a cancelled (exceptoin) decision about "resend" for "bob"`,
			[]string{"\n\"exceptoin\" is no reason the engine gives (did you mean \"exception\"?): no decision can match\n"}},
		{"RequireNoReason, a misspelt kind", func(h *connectortest.Harness) {
			h.RequireNoReason("ann", "resend", "deliverd", "")
		}, `connectortest: RequireNoReason("ann", "resend", "deliverd", ""): "deliverd" is no decision kind (did you mean "delivered"?), ` +
			`and would match no decision (for no decision at all, call RequireKinds("ann", "resend") with no kinds)`, nil},
		{"RequireNoReason, an empty kind", func(h *connectortest.Harness) {
			h.RequireNoReason("ann", "resend", "", "")
		}, `connectortest: RequireNoReason("ann", "resend", "", ""): "" is no decision kind, ` +
			`and would match no decision (for no decision at all, call RequireKinds("ann", "resend") with no kinds)`, nil},
		{"RequireNoReason, a misspelt reason", func(h *connectortest.Harness) {
			h.RequireNoReason("bob", "resend", rule.Cancelled, "exceptoin")
		}, `connectortest: RequireNoReason("bob", "resend", "cancelled", "exceptoin"): "exceptoin" is no reason the engine gives ` +
			`(did you mean "exception"?), and would match no decision (for no cancelled decision at all, pass reason "")`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := outcome(t, resendScenario, tc.fn)
			require.True(t, f.failed, "the assertion passed")
			require.True(t, strings.HasPrefix(f.msg, tc.prefix), "want the message to start with\n%s\ngot\n%s", tc.prefix, f.msg)
			for _, s := range tc.contains {
				require.Contains(t, f.msg, s)
			}
		})
	}
}

// A failure about kinds and reasons that exist says nothing of misspellings.
func TestKnownKindsAndReasonsNoteNothing(t *testing.T) {
	for _, fn := range []func(h *connectortest.Harness){
		func(h *connectortest.Harness) {
			h.RequireKinds("bob", "resend", "scheduled", "cancelled/campaign_stopped")
		},
		func(h *connectortest.Harness) { h.RequireReason("ann", "resend", rule.Cancelled, rule.ReasonException) },
	} {
		f := outcome(t, resendScenario, fn)
		require.True(t, f.failed)
		require.NotContains(t, f.msg, "matches no decision")
		require.NotContains(t, f.msg, "no decision can match")
	}
}

// An entry of RequireKinds is one decision: an empty entry, or two
// decisions in one entry, matches none, and fails even where the entries
// joined by spaces would read like the decisions taken.
func TestRequireKindsEntryIsOneDecision(t *testing.T) {
	for _, tc := range []struct {
		name     string
		fn       func(h *connectortest.Harness)
		contains string
	}{
		{"an empty entry about a pair with no decision", func(h *connectortest.Harness) {
			h.RequireKinds("nobody", "resend", "")
		}, `want "" matches no decision: "" is no decision kind`},
		{"two decisions in one entry", func(h *connectortest.Harness) {
			h.RequireKinds("ann", "resend", "scheduled delivered")
		}, `want "scheduled delivered" matches no decision: it names 2 decisions, each an entry of its own: "scheduled", "delivered"`},
		{"an empty entry among others", func(h *connectortest.Harness) {
			h.RequireKinds("ann", "resend", "scheduled", "", "delivered")
		}, `want "" matches no decision: "" is no decision kind`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := outcome(t, resendScenario, tc.fn)
			require.True(t, f.failed, "the assertion passed")
			require.Contains(t, f.msg, tc.contains)
		})
	}
}

// An entry with a slash and no reason after it is told how a decision
// without a reason is written only when its kind exists: it is never
// told to write a kind that is none.
func TestEmptyReasonAfterUnknownKind(t *testing.T) {
	for _, tc := range []struct{ entry, note string }{
		{"/", `want "/" matches no decision: "" is no decision kind` + "\n"},
		{"canceled/", `want "canceled/" matches no decision: "canceled" is no decision kind (did you mean "cancelled"?)` + "\n"},
	} {
		f := outcome(t, resendScenario, func(h *connectortest.Harness) { h.RequireKinds("ann", "resend", tc.entry) })
		require.True(t, f.failed, "the assertion passed")
		require.Contains(t, f.msg, tc.note)
		require.NotContains(t, f.msg, "a decision with no reason is written")
	}
}
