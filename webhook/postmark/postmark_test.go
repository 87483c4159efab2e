package postmark_test

import (
	"bytes"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/webhook"
	"github.com/campaignconnector/campaignconnector/webhook/postmark"
	"github.com/campaignconnector/campaignconnector/webhook/postmark/postmarktest"
	"github.com/stretchr/testify/require"
)

// creds are the credentials set on the tests' Postmark webhook.
var creds = postmarktest.NewCredentials()

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return b
}

// authed returns a request carrying body and the right credentials.
func authed(body []byte) *http.Request {
	return creds.Request("/webhooks/postmark", body)
}

func newParser(t testing.TB, opts ...postmark.Option) *postmark.Parser {
	t.Helper()
	p, err := postmark.New(append(creds.Options(), opts...)...)
	require.NoError(t, err)
	return p
}

func TestParseFixtures(t *testing.T) {
	const msg = "883953f4-6105-42a2-a16a-77a8eac79483"
	tests := []struct {
		name    string
		file    string
		opts    []postmark.Option
		want    []event.Event
		itemErr error
		itemID  string
	}{
		{name: "Delivery is email_received at DeliveredAt", file: "delivery.json", want: []event.Event{{
			ID: msg + "/delivery", UserID: "ann", Kind: event.EmailReceived, CampaignID: "newsletter",
			Time: time.Date(2026, 1, 5, 9, 0, 0, 907025900, time.UTC),
		}}},
		{name: "Open is email_opened at ReceivedAt", file: "open.json", want: []event.Event{{
			ID: msg + "/open/2026-01-07T09:00:00.1234567Z", UserID: "ann", Kind: event.EmailOpened, CampaignID: "newsletter",
			Time: time.Date(2026, 1, 7, 9, 0, 0, 123456700, time.UTC),
		}}},
		{name: "Click is email_clicked, offset time normalized to UTC", file: "click.json", want: []event.Event{{
			ID: msg + "/click/2026-01-07T14:01:00Z/2gf1vm3k48i7u", UserID: "ann", Kind: event.EmailClicked, CampaignID: "newsletter",
			Time: time.Date(2026, 1, 7, 14, 1, 0, 0, time.UTC), Properties: map[string]any{"url": "https://shop.example.com/sale?utm_source=newsletter"},
		}}},
		{name: "Bounce is skipped", file: "bounce.json"},
		{name: "custom mapping", file: "delivery.json",
			opts:    []postmark.Option{postmark.WithMapping(webhook.Mapping{UserKey: "customer"})},
			itemErr: webhook.ErrMissingID, itemID: msg},
		{name: "no Metadata", file: "missing_metadata.json", itemErr: webhook.ErrMissingID, itemID: "5b3c2d9e-0000-4000-8000-000000000001"},
		{name: "unreadable time", file: "bad_time.json", itemErr: webhook.ErrBadItem, itemID: "5b3c2d9e-0000-4000-8000-000000000002"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newParser(t, tc.opts...)
			body := fixture(t, tc.file)
			got, err := p.Parse(authed(body), body)
			require.Equal(t, tc.want, got)
			indexed, positions, ierr := p.ParseIndexed(authed(body), body)
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
			require.Equal(t, tc.itemID, items[0].ProviderEventID)
		})
	}
}

func TestIDsAreStableAndDistinct(t *testing.T) {
	p := newParser(t)
	parse := func(body []byte) string {
		t.Helper()
		evs, err := p.Parse(authed(body), body)
		require.NoError(t, err)
		require.Len(t, evs, 1)
		return evs[0].ID
	}
	click := fixture(t, "click.json")
	require.Equal(t, parse(click), parse(click), "a retried record keeps its id")
	other := bytes.Replace(click, []byte("/sale?"), []byte("/cart?"), 1)
	require.NotEqual(t, parse(click), parse(other), "two links clicked in the same second are two clicks")
	open := fixture(t, "open.json")
	later := bytes.Replace(open, []byte("09:00:00.1234567Z"), []byte("10:00:00Z"), 1)
	require.NotEqual(t, parse(open), parse(later), "a second open is a second event")
}

func TestParseMalformed(t *testing.T) {
	p := newParser(t)
	for _, body := range [][]byte{fixture(t, "array.json"), []byte(`{"RecordType":`), []byte(`null`), nil} {
		got, err := p.Parse(authed(body), body)
		require.ErrorIs(t, err, webhook.ErrPayload, "%q", body)
		require.Nil(t, got)
	}
}

func TestAuth(t *testing.T) {
	body := fixture(t, "open.json")
	basic := postmarktest.Credentials{User: creds.User, Password: creds.Password}
	header := postmarktest.Credentials{HeaderName: creds.HeaderName, HeaderValue: creds.HeaderValue}
	with := func(c postmarktest.Credentials, edit func(*postmarktest.Credentials)) postmarktest.Credentials {
		edit(&c)
		return c
	}
	tests := []struct {
		name       string
		want, sent postmarktest.Credentials
		ok         bool
	}{
		{"basic auth ok", basic, basic, true},
		{"basic auth wrong password", basic, with(basic, func(c *postmarktest.Credentials) { c.Password = "nope" }), false},
		{"basic auth wrong user", basic, with(basic, func(c *postmarktest.Credentials) { c.User = "admin" }), false},
		{"basic auth missing", basic, postmarktest.Credentials{}, false},
		{"basic auth prefix of the password", basic, with(basic, func(c *postmarktest.Credentials) { c.Password = c.Password[:4] }), false},
		{"header ok", header, header, true},
		{"header name is case-insensitive", with(header, func(c *postmarktest.Credentials) { c.HeaderName = strings.ToLower(c.HeaderName) }), header, true},
		{"header wrong value", header, with(header, func(c *postmarktest.Credentials) { c.HeaderValue += "x" }), false},
		{"header missing", header, basic, false},
		{"both required, both given", creds, creds, true},
		{"both required, header missing", creds, basic, false},
		{"both required, basic auth missing", creds, header, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := postmark.New(tc.want.Options()...)
			require.NoError(t, err)
			got, err := p.Parse(tc.sent.Request("/webhooks/postmark", body), body)
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

// TestNewSaysWhatIsWrong: each setting New rejects is named in the error.
func TestNewSaysWhatIsWrong(t *testing.T) {
	const user, password, header, secret = "postmark", "3b2f0c6e9a", "X-Webhook-Token", "d1f5a2b8c4e7"
	bad := []struct {
		name string
		opts []postmark.Option
		want string
	}{
		{"no option", nil, "postmark: no authentication: pass WithBasicAuth or WithHeader (Postmark does not sign webhooks)"},
		{"a mapping alone", []postmark.Option{postmark.WithMapping(webhook.Mapping{})},
			"postmark: no authentication: pass WithBasicAuth or WithHeader (Postmark does not sign webhooks)"},
		{"empty user name", []postmark.Option{postmark.WithBasicAuth("", password)}, "postmark: WithBasicAuth: empty user name"},
		{"empty password", []postmark.Option{postmark.WithBasicAuth(user, "")}, "postmark: WithBasicAuth: empty password"},
		{"colon in the user name", []postmark.Option{postmark.WithBasicAuth("post:mark", password)},
			"postmark: WithBasicAuth: user name contains ':', which basic auth cannot carry"},
		{"empty header name", []postmark.Option{postmark.WithHeader("", secret)}, "postmark: WithHeader: empty header name"},
		{"header name with a space", []postmark.Option{postmark.WithHeader("X Webhook Token", secret)},
			`postmark: WithHeader: "X Webhook Token" is not an HTTP header name (letters, digits and !#$%&'*+-.^_` + "`|~ only)"},
		{"header name with a colon", []postmark.Option{postmark.WithHeader("X-Token:", secret)},
			`postmark: WithHeader: "X-Token:" is not an HTTP header name (letters, digits and !#$%&'*+-.^_` + "`|~ only)"},
		{"empty header value", []postmark.Option{postmark.WithHeader(header, "")}, "postmark: WithHeader: empty value for header X-Webhook-Token"},
		{"header value with a trailing newline", []postmark.Option{postmark.WithHeader(header, secret+"\n")},
			"postmark: WithHeader: value of header X-Webhook-Token has white space at its start or end, which HTTP drops"},
		{"header value with a control character", []postmark.Option{postmark.WithHeader(header, "d1f5\x00a2b8")},
			"postmark: WithHeader: value of header X-Webhook-Token holds a control character"},
		{"nil option", []postmark.Option{nil}, "postmark: nil option"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			p, err := postmark.New(tc.opts...)
			require.EqualError(t, err, tc.want)
			require.Nil(t, p)
		})
	}
}

func FuzzParsePostmark(f *testing.F) {
	for _, name := range []string{"delivery.json", "open.json", "click.json", "bounce.json", "missing_metadata.json", "bad_time.json", "array.json"} {
		f.Add(fixture(f, name))
	}
	f.Add([]byte(`{"RecordType":"Click","MessageID":"m","ReceivedAt":"2026-01-07T09:01:00Z","Metadata":{"campaign_id":{},"user_id":"u"}}`))
	f.Add([]byte(`{"RecordType":"Open","MessageID":"m","ReceivedAt":"9999-12-31T23:59:59+14:00","Metadata":{"campaign_id":1,"user_id":true}}`))
	p := newParser(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		events, err := p.Parse(authed(body), body)
		if items := webhook.ItemErrors(err); len(items) > 0 {
			require.Len(t, items, 1)
			if !errors.Is(items[0], webhook.ErrMissingID) && !errors.Is(items[0], webhook.ErrBadItem) {
				t.Fatalf("untyped item error: %v", items[0])
			}
		} else if err != nil {
			require.ErrorIs(t, err, webhook.ErrPayload)
		}
		require.LessOrEqual(t, len(events), 1)
		for _, ev := range events {
			require.NotEmpty(t, ev.ID)
			// A value no store keeps (a NUL byte in an id…) is the
			// engine's to reject; the handler then lists the item.
			if err := ev.Validate(); err != nil {
				require.True(t, errors.Is(err, event.ErrUnstorable) || errors.Is(err, event.ErrTooLarge), "%+v: %v", ev, err)
			}
		}
	})
}
