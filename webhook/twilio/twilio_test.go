package twilio_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/webhook"
	"github.com/campaignconnector/campaignconnector/webhook/twilio"
	"github.com/campaignconnector/campaignconnector/webhook/twilio/twiliotest"
	"github.com/stretchr/testify/require"
)

const (
	base     = "https://hooks.example.com"
	callback = "/webhooks/twilio?campaign_id=promo&user_id=ann"
	sid      = "SM4c5e8f2a9b1d3e6f7a8b9c0d1e2f3a4b"
)

// signer plays Twilio for the tests' parsers, which have base as their
// base URL.
var signer = func() *twiliotest.Signer {
	s := twiliotest.NewSigner()
	s.BaseURL = base
	return s
}()

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return b
}

func mustQuery(t testing.TB, body []byte) url.Values {
	t.Helper()
	v, err := url.ParseQuery(string(body))
	require.NoError(t, err)
	return v
}

// formRequest is a status callback carrying the form body to path,
// signed by s.
func formRequest(t testing.TB, s *twiliotest.Signer, path string, body []byte) *http.Request {
	t.Helper()
	return s.FormRequest(path, mustQuery(t, body))
}

// otherSigner signs with another auth token.
func otherSigner() *twiliotest.Signer {
	s := twiliotest.NewSigner()
	s.BaseURL = base
	return s
}

func newParser(t testing.TB, opts ...twilio.Option) *twilio.Parser {
	t.Helper()
	p, err := twilio.New(signer.AuthToken, append([]twilio.Option{twilio.WithBaseURL(base)}, opts...)...)
	require.NoError(t, err)
	return p
}

func TestParseFixtures(t *testing.T) {
	clickTime := time.Date(2026, 1, 5, 9, 10, 0, 130e6, time.UTC)
	lookup := func(_ context.Context, s string) (string, string, error) {
		if s == sid {
			return "promo", "bob", nil
		}
		return "", "", nil
	}
	tests := []struct {
		name    string
		file    string
		path    string
		opts    []twilio.Option
		want    []event.Event
		itemErr error
	}{
		{name: "delivered is sms_received", file: "status_delivered.form", want: []event.Event{
			{ID: sid + "/delivered", UserID: "ann", Kind: event.SMSReceived, CampaignID: "promo"},
		}},
		{name: "legacy SmsSid and SmsStatus", file: "status_legacy_sms.form", want: []event.Event{
			{ID: "SM7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a/delivered", UserID: "ann", Kind: event.SMSReceived, CampaignID: "promo"},
		}},
		{name: "sent is skipped", file: "status_sent.form"},
		{name: "undelivered is skipped", file: "status_undelivered.form"},
		{name: "no status", file: "status_no_status.form", itemErr: webhook.ErrBadItem},
		{name: "click is sms_link_clicked", file: "click.json", want: []event.Event{
			{ID: sid + "/click/2026-01-05T09:10:00.13Z/e09jrizetrsa", UserID: "ann", Kind: event.SMSLinkClicked, CampaignID: "promo",
				Time: clickTime, Properties: map[string]any{"url": "https://shop.example.com/sale?utm_source=sms"}},
		}},
		{name: "preview is skipped", file: "preview.json"},
		{name: "unreadable click time", file: "click_bad_time.json", itemErr: webhook.ErrBadItem},
		{name: "no ids in the URL", file: "status_delivered.form", path: "/webhooks/twilio?campaign_id=promo", itemErr: webhook.ErrMissingID},
		{name: "ids from the lookup", file: "click.json", path: "/webhooks/twilio?source=ms",
			opts: []twilio.Option{twilio.WithLookup(lookup)}, want: []event.Event{
				{ID: sid + "/click/2026-01-05T09:10:00.13Z/e09jrizetrsa", UserID: "bob", Kind: event.SMSLinkClicked, CampaignID: "promo",
					Time: clickTime, Properties: map[string]any{"url": "https://shop.example.com/sale?utm_source=sms"}},
			}},
		{name: "URL ids win over the lookup", file: "click.json", path: "/webhooks/twilio?user_id=cleo",
			opts: []twilio.Option{twilio.WithLookup(lookup)}, want: []event.Event{
				{ID: sid + "/click/2026-01-05T09:10:00.13Z/e09jrizetrsa", UserID: "cleo", Kind: event.SMSLinkClicked, CampaignID: "promo",
					Time: clickTime, Properties: map[string]any{"url": "https://shop.example.com/sale?utm_source=sms"}},
			}},
		{name: "lookup finds nothing", file: "status_undelivered.form", path: "/webhooks/twilio?x=1",
			opts: []twilio.Option{twilio.WithLookup(lookup)}},
		{name: "custom mapping", file: "status_delivered.form", path: "/webhooks/twilio?c=promo&u=dan",
			opts: []twilio.Option{twilio.WithMapping(webhook.Mapping{CampaignKey: "c", UserKey: "u"})}, want: []event.Event{
				{ID: sid + "/delivered", UserID: "dan", Kind: event.SMSReceived, CampaignID: "promo"},
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newParser(t, tc.opts...)
			path := tc.path
			if path == "" {
				path = callback
			}
			body := fixture(t, tc.file)
			var r *http.Request
			if strings.HasSuffix(tc.file, ".json") {
				r = signer.JSONRequest(path, body)
			} else {
				r = formRequest(t, signer, path, body)
			}
			got, err := p.Parse(r, body)
			require.Equal(t, tc.want, got)
			indexed, positions, ierr := p.ParseIndexed(r, body)
			require.Equal(t, tc.want, indexed)
			require.Equal(t, make([]int, len(got)), positions, "one item per request")
			require.Equal(t, err, ierr)
			if tc.itemErr == nil {
				require.NoError(t, err)
				return
			}
			items := webhook.ItemErrors(err)
			require.Len(t, items, 1, "%v", err)
			require.ErrorIs(t, items[0], tc.itemErr)
			require.Equal(t, "twilio", items[0].Provider)
		})
	}
}

func TestLookupFailureIsTransient(t *testing.T) {
	down := errors.New("db down")
	p := newParser(t, twilio.WithLookup(func(context.Context, string) (string, string, error) { return "", "", down }))
	body := fixture(t, "click.json")
	got, err := p.Parse(signer.JSONRequest("/webhooks/twilio?x=1", body), body)
	require.Nil(t, got)
	require.ErrorIs(t, err, down)
	require.Empty(t, webhook.ItemErrors(err))
	require.NotErrorIs(t, err, webhook.ErrSignature)
	require.NotErrorIs(t, err, webhook.ErrPayload)
}

func TestSignature(t *testing.T) {
	form, click := fixture(t, "status_delivered.form"), fixture(t, "click.json")
	tests := []struct {
		name string
		opts []twilio.Option
		req  func() (*http.Request, []byte)
		ok   bool
	}{
		{name: "form valid", req: func() (*http.Request, []byte) { return formRequest(t, signer, callback, form), form }, ok: true},
		{name: "form tampered parameter", req: func() (*http.Request, []byte) {
			return formRequest(t, signer, callback, form), bytes.Replace(form, []byte("delivered"), []byte("delivereD"), 1)
		}},
		{name: "form extra parameter", req: func() (*http.Request, []byte) {
			return formRequest(t, signer, callback, form), append(append([]byte{}, form...), "&Extra=1"...)
		}},
		{name: "form tampered URL query", req: func() (*http.Request, []byte) {
			r := formRequest(t, signer, callback, form)
			r.URL.RawQuery = "campaign_id=promo&user_id=eve"
			return r, form
		}},
		{name: "form wrong token", req: func() (*http.Request, []byte) { return formRequest(t, otherSigner(), callback, form), form }},
		{name: "no signature", req: func() (*http.Request, []byte) {
			r := formRequest(t, signer, callback, form)
			r.Header.Del(twilio.SignatureHeader)
			return r, form
		}},
		{name: "signature not base64", req: func() (*http.Request, []byte) {
			r := formRequest(t, signer, callback, form)
			r.Header.Set(twilio.SignatureHeader, "!!")
			return r, form
		}},
		{name: "json valid", req: func() (*http.Request, []byte) { return signer.JSONRequest(callback, click), click }, ok: true},
		{name: "json tampered body", req: func() (*http.Request, []byte) {
			return signer.JSONRequest(callback, click), bytes.Replace(click, []byte("sale"), []byte("scam"), 1)
		}},
		{name: "json wrong token", req: func() (*http.Request, []byte) { return otherSigner().JSONRequest(callback, click), click }},
		{name: "json without bodySHA256", req: func() (*http.Request, []byte) {
			r := httptest.NewRequest(http.MethodPost, callback, bytes.NewReader(click))
			r.Header.Set("Content-Type", "application/json")
			r.Header.Set(twilio.SignatureHeader, signer.Sign(base+callback, nil))
			return r, click
		}},
		{name: "signed for another public URL", opts: []twilio.Option{twilio.WithBaseURL("https://other.example.com")},
			req: func() (*http.Request, []byte) { return formRequest(t, signer, callback, form), form }},
		{name: "base URL with a path prefix", opts: []twilio.Option{twilio.WithBaseURL("https://example.com/api/")},
			req: func() (*http.Request, []byte) {
				s := &twiliotest.Signer{AuthToken: signer.AuthToken, BaseURL: "https://example.com/api/"}
				return formRequest(t, s, callback, form), form
			}, ok: true},
		{name: "URL func", opts: []twilio.Option{twilio.WithURLFunc(func(r *http.Request) string {
			return "https://" + r.Header.Get("X-Forwarded-Host") + r.URL.RequestURI()
		})}, req: func() (*http.Request, []byte) {
			r := formRequest(t, signer, callback, form)
			r.Header.Set("X-Forwarded-Host", "hooks.example.com")
			return r, form
		}, ok: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newParser(t, tc.opts...)
			r, body := tc.req()
			got, err := p.Parse(r, body)
			if tc.ok {
				require.NoError(t, err)
				require.Len(t, got, 1)
				return
			}
			require.ErrorIs(t, err, webhook.ErrSignature)
			require.Nil(t, got)
		})
	}
}

// TestPublishedVectors checks the signature scheme against the examples
// Twilio publishes with its helper libraries (auth token "12345").
func TestPublishedVectors(t *testing.T) {
	const vectorURL = "https://mycompany.com/myapp.php?foo=1&bar=2"
	params := "CallSid=CA1234567890ABCDE&Caller=%2B14158675309&Digits=1234&From=%2B14158675309&To=%2B18005551212"
	jsonBody := `{"property": "value", "boolean": true}`
	tests := []struct {
		name, url, body, sig string
		json                 bool
	}{
		{name: "form", url: vectorURL, body: params, sig: "RSOYDt4T1cUTdK1PDd93/VVr8B8="},
		{name: "repeated parameters", url: vectorURL, body: "Sid=CA123&SidAccount=AC123&Digits=5678&Digits=1234&Digits=1234", sig: "IK+Dwps556ElfBT0I3Rgjkr1wJU="},
		{name: "JSON body", url: vectorURL + "&bodySHA256=0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620",
			body: jsonBody, sig: "a9nBmqA0ju/hNViExpshrM61xv4=", json: true},
		{name: "signed with :443, called without", url: vectorURL, body: params, sig: "kvajT1Ptam85bY51eRf/AJRuM3w="},
		{name: "signed with :80, called without", url: strings.Replace(vectorURL, "https", "http", 1), body: params, sig: "0ZXoZLH/DfblKGATFgpif+LLRf4="},
		{name: "signed without port, called with one", url: strings.Replace(vectorURL, ".com", ".com:1234", 1), body: params, sig: "RSOYDt4T1cUTdK1PDd93/VVr8B8="},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := twilio.New("12345", twilio.WithURLFunc(func(*http.Request) string { return tc.url }))
			require.NoError(t, err)
			r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tc.body))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tc.json {
				r.Header.Set("Content-Type", "application/json")
			}
			r.Header.Set(twilio.SignatureHeader, tc.sig)
			require.NoError(t, p.Verify(r, []byte(tc.body)))
			r.Header.Set(twilio.SignatureHeader, "AAAAAAAAAAAAAAAAAAAAAAAAAAA=")
			require.ErrorIs(t, p.Verify(r, []byte(tc.body)), webhook.ErrSignature)
		})
	}
}

func TestDefaultURLUsesTheRequest(t *testing.T) {
	p, err := twilio.New(signer.AuthToken)
	require.NoError(t, err)
	body := fixture(t, "status_delivered.form")
	for _, scheme := range []string{"http", "https"} {
		r := httptest.NewRequest(http.MethodPost, scheme+"://hooks.example.com"+callback, bytes.NewReader(body))
		if scheme == "http" {
			r.TLS = nil
		} else {
			r.TLS = &tls.ConnectionState{}
		}
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set(twilio.SignatureHeader, signer.Sign(scheme+"://hooks.example.com"+callback, mustQuery(t, body)))
		got, err := p.Parse(r, body)
		require.NoError(t, err, scheme)
		require.Len(t, got, 1)
	}
}

func TestParseMalformed(t *testing.T) {
	p := newParser(t)
	for _, name := range []string{"not_object.json"} {
		body := fixture(t, name)
		got, err := p.Parse(signer.JSONRequest(callback, body), body)
		require.ErrorIs(t, err, webhook.ErrPayload)
		require.Nil(t, got)
	}
	bad := []byte("a=%zz")
	r := formRequest(t, signer, callback, []byte("a=1"))
	got, err := p.Parse(r, bad)
	require.ErrorIs(t, err, webhook.ErrPayload)
	require.Nil(t, got)
}

// TestNewSaysWhatIsWrong: each setting New rejects is named in the error.
func TestNewSaysWhatIsWrong(t *testing.T) {
	token := signer.AuthToken
	bad := []struct {
		name  string
		token string
		opts  []twilio.Option
		want  string
	}{
		{"empty token", "", nil, "twilio: empty auth token: pass the account's auth token (Console → Account Info)"},
		{"token of white space", " \t", nil, "twilio: empty auth token: pass the account's auth token (Console → Account Info)"},
		{"token with a trailing newline", token + "\n", nil,
			"twilio: auth token has white space at its start or end (a newline read from a file?): pass the token exactly as Twilio shows it"},
		{"relative base URL", token, []twilio.Option{twilio.WithBaseURL("/hooks")},
			`twilio: base URL "/hooks" must be http(s)://host[/prefix], without query`},
		{"base URL with query", token, []twilio.Option{twilio.WithBaseURL("https://example.com/?a=1")},
			`twilio: base URL "https://example.com/?a=1" must be http(s)://host[/prefix], without query`},
		{"ftp base URL", token, []twilio.Option{twilio.WithBaseURL("ftp://example.com")},
			`twilio: base URL "ftp://example.com" must be http(s)://host[/prefix], without query`},
		{"nil URL func", token, []twilio.Option{twilio.WithURLFunc(nil)}, "twilio: nil URL function"},
		{"nil lookup", token, []twilio.Option{twilio.WithLookup(nil)}, "twilio: nil lookup function"},
		{"nil option", token, []twilio.Option{nil}, "twilio: nil option"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			p, err := twilio.New(tc.token, tc.opts...)
			require.EqualError(t, err, tc.want)
			require.ErrorIs(t, err, webhook.ErrInvalidOption)
			require.Nil(t, p)
		})
	}
}

// FuzzParseTwilio signs whatever body it is given, as a form post or as
// JSON, so that the decoding past the signature check is what gets fuzzed.
func FuzzParseTwilio(f *testing.F) {
	for _, name := range []string{"status_delivered.form", "status_sent.form", "status_undelivered.form", "status_legacy_sms.form", "status_no_status.form"} {
		f.Add(fixture(f, name), false)
	}
	for _, name := range []string{"click.json", "preview.json", "click_bad_time.json", "not_object.json"} {
		f.Add(fixture(f, name), true)
	}
	f.Add([]byte("MessageStatus=delivered&MessageStatus=sent&MessageSid="), false)
	f.Add([]byte(`{"event_type":"click","sms_sid":"SM1","click_time":"0000-01-01T00:00:00Z"}`), true)
	p := newParser(f)
	f.Fuzz(func(t *testing.T, body []byte, isJSON bool) {
		var r *http.Request
		if isJSON {
			r = signer.JSONRequest(callback, body)
		} else {
			// The body is sent as the fuzzer made it, malformed or not,
			// signed with the parameters it holds.
			form, err := url.ParseQuery(string(body))
			if err != nil {
				form = nil // the parser must reject the body as malformed
			}
			r = httptest.NewRequest(http.MethodPost, callback, bytes.NewReader(body))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.Header.Set(twilio.SignatureHeader, signer.Sign(base+callback, form))
		}
		events, err := p.Parse(r, body)
		switch items := webhook.ItemErrors(err); {
		case len(items) > 0:
			require.Len(t, items, 1)
			if !errors.Is(items[0], webhook.ErrMissingID) && !errors.Is(items[0], webhook.ErrBadItem) {
				t.Fatalf("untyped item error: %v", items[0])
			}
		case err != nil:
			if !errors.Is(err, webhook.ErrPayload) && !errors.Is(err, webhook.ErrSignature) {
				t.Fatalf("untyped error: %v", err)
			}
		}
		require.LessOrEqual(t, len(events), 1)
		for _, ev := range events {
			// A value no store keeps (a NUL byte in an id…) is the
			// engine's to reject; the handler then lists the item.
			if err := ev.Validate(); err != nil {
				require.True(t, errors.Is(err, event.ErrUnstorable) || errors.Is(err, event.ErrTooLarge), "%+v: %v", ev, err)
			}
		}
	})
}

// A signature that does not match says which URL was checked, without its
// query, and how to give the URL Twilio called: behind a proxy, most
// mismatches come from the URL the process sees.
func TestSignatureMismatchNamesTheURLChecked(t *testing.T) {
	form := fixture(t, "status_delivered.form")
	p := newParser(t, twilio.WithBaseURL("https://other.example.com"))
	r := formRequest(t, signer, callback, form)
	_, err := p.Parse(r, form)
	require.ErrorIs(t, err, webhook.ErrSignature)
	require.ErrorContains(t, err, "URL checked: https://other.example.com"+r.URL.Path+", query left out")
	require.ErrorContains(t, err, "WithBaseURL or WithURLFunc")
	require.NotContains(t, err.Error(), r.URL.RawQuery, "the query may name users")

	long := newParser(t, twilio.WithBaseURL("https://example.com/"+strings.Repeat("é", 1000)))
	_, err = long.Parse(formRequest(t, signer, callback, form), form)
	require.ErrorIs(t, err, webhook.ErrSignature)
	require.Less(t, len(err.Error()), 600, "a long path is cut")
	require.True(t, utf8.ValidString(err.Error()))
}
