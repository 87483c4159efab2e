package webhook_test

import (
	"context"
	"strings"
	"testing"

	"github.com/benbjohnson/clock"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/webhook"
	"github.com/campaignconnector/campaignconnector/webhook/mailgun"
	"github.com/campaignconnector/campaignconnector/webhook/postmark"
	"github.com/campaignconnector/campaignconnector/webhook/sendgrid"
	"github.com/campaignconnector/campaignconnector/webhook/sendgrid/sendgridtest"
	"github.com/campaignconnector/campaignconnector/webhook/ses"
	"github.com/campaignconnector/campaignconnector/webhook/twilio"
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

// A Mapping that reads the campaign id and the user id from the same field
// would make every event's campaign its user: WithMapping refuses it, in
// every parser, as it refuses a key no payload can carry.
func TestWithMappingRefusesConflictingKeys(t *testing.T) {
	key := sendgridtest.NewSigner(t).VerificationKey()
	for _, m := range []webhook.Mapping{
		{CampaignKey: "id", UserKey: "id"},
		{CampaignKey: webhook.DefaultUserKey},
		{UserKey: webhook.DefaultCampaignKey},
		{CampaignKey: "c\x00"},
		{UserKey: "\xff"},
	} {
		if m.Validate() == nil {
			t.Errorf("%+q: Validate = nil", m)
		}
		for name, newParser := range map[string]func() error{
			"mailgun": func() error { _, err := mailgun.New("key", mailgun.WithMapping(m)); return err },
			"postmark": func() error {
				_, err := postmark.New(postmark.WithHeader("X-T", "v"), postmark.WithMapping(m))
				return err
			},
			"sendgrid": func() error { _, err := sendgrid.New(key, sendgrid.WithMapping(m)); return err },
			"ses":      func() error { _, err := ses.New(ses.WithMapping(m)); return err },
			"twilio":   func() error { _, err := twilio.New("token", twilio.WithMapping(m)); return err },
		} {
			if err := newParser(); err == nil || !strings.Contains(err.Error(), "mapping") {
				t.Errorf("%s: New(WithMapping(%+q)) = %v, want an error about the mapping", name, m, err)
			}
		}
	}
	for _, m := range []webhook.Mapping{{}, {CampaignKey: "cid"}, {CampaignKey: "c", UserKey: "u"}} {
		if err := m.Validate(); err != nil {
			t.Errorf("%+q: Validate = %v", m, err)
		}
	}
}

// NewHandler refuses a nil *Parser of a provider package, as it refuses a
// nil interface: `p, _ := mailgun.New(key)` with a bad key gives one, and
// every request would then panic in Parse.
func TestNewHandlerNilParserPointer(t *testing.T) {
	track := webhook.TrackerFunc(func(context.Context, event.Event) error { return nil })
	for name, p := range map[string]webhook.Parser{
		"mailgun":  (*mailgun.Parser)(nil),
		"postmark": (*postmark.Parser)(nil),
		"sendgrid": (*sendgrid.Parser)(nil),
		"ses":      (*ses.Parser)(nil),
		"twilio":   (*twilio.Parser)(nil),
	} {
		if _, err := webhook.NewHandler(p, track); err == nil || !strings.Contains(err.Error(), "nil parser") {
			t.Errorf("%s: NewHandler(nil *Parser) = %v, want an error naming the nil parser", name, err)
		}
	}
}
