package webhook_test

import (
	"strings"
	"testing"

	"github.com/benbjohnson/clock"
	"github.com/campaignconnector/campaignconnector/webhook/mailgun"
	"github.com/campaignconnector/campaignconnector/webhook/sendgrid"
	"github.com/campaignconnector/campaignconnector/webhook/sendgrid/sendgridtest"
	"github.com/campaignconnector/campaignconnector/webhook/ses"
)

// A nil pointer in the Clock interface is refused by WithClock, as a nil
// interface is (and as connector.WithClock refuses both), instead of
// being kept until the first signed request panics on Now.
func TestWithClockNilPointer(t *testing.T) {
	var mock *clock.Mock
	key := sendgridtest.NewSigner(t).VerificationKey()
	for name, newParser := range map[string]func() error{
		"mailgun":  func() error { _, err := mailgun.New("key", mailgun.WithClock(mock)); return err },
		"sendgrid": func() error { _, err := sendgrid.New(key, sendgrid.WithClock(mock)); return err },
		"ses":      func() error { _, err := ses.New(ses.WithClock(mock)); return err },
	} {
		err := newParser()
		if err == nil || !strings.Contains(err.Error(), "nil clock") || !strings.Contains(err.Error(), "*clock.Mock") {
			t.Errorf("%s: New(WithClock((*clock.Mock)(nil))) = %v, want an error naming the nil *clock.Mock", name, err)
		}
	}
}
