package connector_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/connectortest"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/stretchr/testify/require"
)

// A sender that knows no retry can help (the mailbox does not exist)
// marks its error permanent: the delivery fails at its first attempt,
// where other errors are retried up to the policy's MaxAttempts. Both
// ways of marking it count, and the failure does not count as received.
func TestAPermanentSendErrorIsNotRetried(t *testing.T) {
	mailbox := errors.New("550 mailbox unavailable")
	for _, tc := range []struct {
		name     string
		err      error
		attempts int
	}{
		{"Permanent", connector.Permanent(mailbox), 1},
		{"wrapping ErrPermanent", fmt.Errorf("%w: 550 mailbox unavailable", connector.ErrPermanent), 1},
		{"an ordinary error", mailbox, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := connectortest.New(t, connector.WithRetryPolicy(connector.RetryPolicy{MaxAttempts: 3, Base: time.Minute, Max: time.Hour}))
			h.Save(resendCampaigns...)
			h.Publish("resend", "newsletter")
			h.Sender.Fail = func(connector.Delivery) error { return tc.err }
			h.Track(event.Event{ID: "r1", UserID: "ann", Kind: event.EmailReceived, CampaignID: "newsletter"})
			h.Advance(8 * 24 * time.Hour)

			require.Len(t, h.Sender.Attempts(), tc.attempts)
			failed := h.RequireReason("ann", "resend", rule.Failed, rule.ReasonSendError)
			require.Contains(t, failed.Detail, "550 mailbox unavailable")
			if tc.attempts == 1 {
				require.Contains(t, failed.Detail, "permanent: not retried")
				h.RequireNoReason("ann", "resend", rule.Retried, rule.ReasonSendError)
			}
			h.RequireNotSent("ann", "resend")
			st, err := h.Engine.Stats(t.Context())
			require.NoError(t, err)
			require.Zero(t, st.Pending)

			// Not received: the next newsletter's receipt schedules it again.
			h.Sender.Fail = nil
			h.Track(event.Event{ID: "r2", UserID: "ann", Kind: event.EmailReceived, CampaignID: "newsletter"})
			h.Advance(8 * 24 * time.Hour)
			h.RequireSent("ann", "resend")
		})
	}
}

// Permanent keeps the error it marks: its text, and errors.Is and
// errors.As through it; nil stays nil.
func TestPermanentWrapsItsError(t *testing.T) {
	require.NoError(t, connector.Permanent(nil))
	base := &os550{}
	err := connector.Permanent(fmt.Errorf("sending: %w", base))
	require.EqualError(t, err, "sending: 550")
	require.ErrorIs(t, err, connector.ErrPermanent)
	require.ErrorIs(t, err, base)
	var target *os550
	require.ErrorAs(t, err, &target)
}

type os550 struct{}

func (*os550) Error() string { return "550" }
