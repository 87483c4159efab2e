package connectortest_test

import (
	"testing"

	"github.com/campaignconnector/campaignconnector/connectortest"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/stretchr/testify/require"
)

// In resendScenario, ann gets "resend" and bob, who opened, does not.
func TestRequireRecipients(t *testing.T) {
	for _, tc := range []struct {
		name string
		fn   func(h *connectortest.Harness)
		want string // "": passes
	}{
		{"exactly those", func(h *connectortest.Harness) { h.RequireRecipients("resend", "ann") }, ""},
		{"no one, for an original", func(h *connectortest.Harness) { h.RequireRecipients("newsletter") }, ""},
		{"one missing", func(h *connectortest.Harness) { h.RequireRecipients("resend", "ann", "bob") },
			`want "resend" delivered to exactly ["ann", "bob"], got ["ann"]` + "\nnot delivered to [\"bob\"]\n" +
				`the last decision about "bob" and "resend": 2026-01-05T01:00:00Z cancelled resend`},
		{"one not expected", func(h *connectortest.Harness) { h.RequireRecipients("resend") },
			`want "resend" delivered to exactly [], got ["ann"]` + "\ndelivered to [\"ann\"] too\ntimeline:"},
		{"a misspelt campaign", func(h *connectortest.Harness) { h.RequireRecipients("resnd", "ann", "bob") },
			"not delivered to [\"ann\", \"bob\"]\n" + `no campaign "resnd" is saved (the engine knows "newsletter", "resend"): a misspelt ID?` +
				"\ntimeline:"},
		{"missing users' deliveries named with their user", func(h *connectortest.Harness) {
			h.Track(event.Event{UserID: "cleo", Kind: event.EmailReceived, CampaignID: "newsletter"})
			h.RequireRecipients("resend", "ann", "cleo")
		}, "not delivered to [\"cleo\"]\n" + `to "cleo": delivery `},
		{"a user never seen", func(h *connectortest.Harness) { h.RequireRecipients("resend", "ann", "an") },
			"not delivered to [\"an\"]\n" + `no decision concerns user "an"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := outcome(t, resendScenario, tc.fn)
			if tc.want == "" {
				require.False(t, f.failed, f.msg)
				return
			}
			require.True(t, f.failed)
			require.Contains(t, f.msg, tc.want)
		})
	}
	t.Run("a misspelt campaign, no one expected: passes and logs it", func(t *testing.T) {
		f := outcome(t, resendScenario, func(h *connectortest.Harness) { h.RequireRecipients("resnd") })
		require.False(t, f.failed, f.msg)
		require.Equal(t, []string{`connectortest: RequireRecipients passes, but no campaign "resnd" is saved ` +
			`(the engine knows "newsletter", "resend"): a misspelt ID?`}, f.logs)
	})
}
