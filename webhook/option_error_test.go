package webhook_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/webhook"
	"github.com/campaignconnector/campaignconnector/webhook/mailgun"
	"github.com/campaignconnector/campaignconnector/webhook/postmark"
	"github.com/campaignconnector/campaignconnector/webhook/sendgrid"
	"github.com/campaignconnector/campaignconnector/webhook/sendgrid/sendgridtest"
	"github.com/campaignconnector/campaignconnector/webhook/ses"
	"github.com/campaignconnector/campaignconnector/webhook/twilio"
)

// Every option the handler or a parser refuses gives an error that
// errors.Is finds webhook.ErrInvalidOption in, as the other packages'
// options do, with the text it had before (the sentinel's own words do
// not appear in it).
func TestOptionErrorsWrapErrInvalidOption(t *testing.T) {
	key := sendgridtest.NewSigner(t).VerificationKey()
	parser := webhook.ParserFunc(func(*http.Request, []byte) ([]event.Event, error) { return nil, nil })
	tracker := webhook.TrackerFunc(func(_ context.Context, _ event.Event) error { return nil })
	bad := webhook.Mapping{CampaignKey: "id", UserKey: "id"}
	for _, tc := range []struct {
		name string
		err  func() error
		text string
	}{
		{"handler nil option", func() error { _, err := webhook.NewHandler(parser, tracker, nil); return err }, "webhook: nil option"},
		{"handler WithMaxBodySize", func() error { _, err := webhook.NewHandler(parser, tracker, webhook.WithMaxBodySize(0)); return err }, "webhook: body size limit must be positive, got 0"},
		{"handler WithErrorFunc", func() error { _, err := webhook.NewHandler(parser, tracker, webhook.WithErrorFunc(nil)); return err }, "webhook: nil error func"},
		{"handler WithReplyFunc", func() error { _, err := webhook.NewHandler(parser, tracker, webhook.WithReplyFunc(nil)); return err }, "webhook: nil reply func"},

		{"sendgrid nil option", func() error { _, err := sendgrid.New(key, nil); return err }, "sendgrid: nil option"},
		{"sendgrid WithMaxAge", func() error { _, err := sendgrid.New(key, sendgrid.WithMaxAge(0)); return err }, "sendgrid: max age must be positive, got 0s"},
		{"sendgrid WithClock", func() error { _, err := sendgrid.New(key, sendgrid.WithClock(nil)); return err }, "sendgrid: nil clock"},
		{"sendgrid WithMapping", func() error { _, err := sendgrid.New(key, sendgrid.WithMapping(bad)); return err }, "sendgrid: webhook: mapping:"},

		{"mailgun nil option", func() error { _, err := mailgun.New("key", nil); return err }, "mailgun: nil option"},
		{"mailgun WithWindow", func() error { _, err := mailgun.New("key", mailgun.WithWindow(0)); return err }, "mailgun: replay window must be positive, got 0s"},
		{"mailgun WithTokenCache", func() error { _, err := mailgun.New("key", mailgun.WithTokenCache(0)); return err }, "mailgun: token cache size must be positive, got 0"},
		{"mailgun WithMapping", func() error { _, err := mailgun.New("key", mailgun.WithMapping(bad)); return err }, "mailgun: webhook: mapping:"},

		{"postmark nil option", func() error { _, err := postmark.New(nil); return err }, "postmark: nil option"},
		{"postmark no authentication", func() error { _, err := postmark.New(); return err }, "postmark: no authentication"},
		{"postmark WithBasicAuth", func() error { _, err := postmark.New(postmark.WithBasicAuth("", "p")); return err }, "postmark: WithBasicAuth: empty user name"},
		{"postmark WithHeader", func() error { _, err := postmark.New(postmark.WithHeader("", "v")); return err }, "postmark: WithHeader: empty header name"},

		{"ses nil option", func() error { _, err := ses.New(nil); return err }, "ses: nil option"},
		{"ses WithAutoConfirm", func() error { _, err := ses.New(ses.WithAutoConfirm()); return err }, "ses: WithAutoConfirm requires WithTopics"},
		{"ses WithTopics", func() error { _, err := ses.New(ses.WithTopics()); return err }, "ses: WithTopics needs at least one topic ARN"},
		{"ses WithHTTPClient", func() error { _, err := ses.New(ses.WithHTTPClient(nil)); return err }, "ses: nil HTTP client"},
		{"ses WithRoots", func() error { _, err := ses.New(ses.WithRoots(nil)); return err }, "ses: nil root pool"},
		{"ses WithMaxAge", func() error { _, err := ses.New(ses.WithMaxAge(-1)); return err }, "ses: max age must be positive"},

		{"twilio nil option", func() error { _, err := twilio.New("token", nil); return err }, "twilio: nil option"},
		{"twilio WithBaseURL", func() error { _, err := twilio.New("token", twilio.WithBaseURL("ftp://x")); return err }, "twilio: base URL"},
		{"twilio WithURLFunc", func() error { _, err := twilio.New("token", twilio.WithURLFunc(nil)); return err }, "twilio: nil URL function"},
		{"twilio WithLookup", func() error { _, err := twilio.New("token", twilio.WithLookup(nil)); return err }, "twilio: nil lookup function"},
	} {
		err := tc.err()
		if !errors.Is(err, webhook.ErrInvalidOption) {
			t.Errorf("%s: error %v does not wrap webhook.ErrInvalidOption", tc.name, err)
			continue
		}
		if msg := err.Error(); !strings.HasPrefix(msg, tc.text) || strings.Contains(msg, "invalid option") {
			t.Errorf("%s: error text %q, want it to start with %q as before", tc.name, msg, tc.text)
		}
	}
}

// The errors of a provider's key or token, New's argument, wrap
// ErrInvalidOption as the same key's errors do when WithPreviousKey gets
// it, and as connector.New's refusal of a nil store does: the sentinel
// says that New refused what it was given.
func TestKeyErrorsAreOptionErrors(t *testing.T) {
	for name, err := range map[string]error{
		"sendgrid": func() error { _, err := sendgrid.New(""); return err }(),
		"mailgun":  func() error { _, err := mailgun.New(""); return err }(),
		"twilio":   func() error { _, err := twilio.New(""); return err }(),
	} {
		if !errors.Is(err, webhook.ErrInvalidOption) {
			t.Errorf("%s: New(\"\") = %v, want an error wrapping ErrInvalidOption", name, err)
		}
	}
}
