package mailgun_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/webhook"
	"github.com/campaignconnector/campaignconnector/webhook/mailgun"
	"github.com/campaignconnector/campaignconnector/webhook/mailgun/mailguntest"
	"github.com/stretchr/testify/require"
)

// signer plays Mailgun for every test.
var signer = mailguntest.NewSigner()

var now = time.Date(2026, time.January, 7, 9, 0, 0, 0, time.UTC)

type clockAt time.Time

func (c clockAt) Now() time.Time { return time.Time(c) }

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return b
}

func request(body []byte) *http.Request {
	return httptest.NewRequest(http.MethodPost, "/webhooks/mailgun", bytes.NewReader(body))
}

// envelope builds a webhook body from a signature object and event data,
// for the tests that tamper with the signature.
func envelope(t testing.TB, sig any, data string) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{"signature": sig, "event-data": json.RawMessage(data)})
	require.NoError(t, err)
	return b
}

func newParser(t testing.TB, opts ...mailgun.Option) *mailgun.Parser {
	t.Helper()
	p, err := mailgun.New(signer.Key, append([]mailgun.Option{mailgun.WithClock(clockAt(now))}, opts...)...)
	require.NoError(t, err)
	return p
}

func TestParseFixtures(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		opts    []mailgun.Option
		want    []event.Event
		itemErr error
		itemID  string
	}{
		{name: "delivered is email_received", file: "delivered.json", want: []event.Event{{
			ID: "CPgfbmQMTCKtHW6uIWtuVe", UserID: "ann", Kind: event.EmailReceived, CampaignID: "newsletter",
			Time: time.Unix(1767603600, 521413000).UTC(),
		}}},
		{name: "opened is email_opened", file: "opened.json", want: []event.Event{{
			ID: "Ase7i2zsRYeDXztHGENqRA", UserID: "ann", Kind: event.EmailOpened, CampaignID: "newsletter",
			Time: time.Unix(1767776400, 250000000).UTC(),
		}}},
		{name: "clicked is email_clicked with its url", file: "clicked.json", want: []event.Event{{
			ID: "Ase7i2zsRYeDXztHGENqRB", UserID: "ann", Kind: event.EmailClicked, CampaignID: "newsletter",
			Time: time.Unix(1767776460, 0).UTC(), Properties: map[string]any{"url": "https://shop.example.com/sale?utm_source=newsletter"},
		}}},
		{name: "failed is skipped", file: "failed.json"},
		{name: "custom mapping", file: "delivered.json",
			opts:    []mailgun.Option{mailgun.WithMapping(webhook.Mapping{CampaignKey: "campaign", UserKey: "user_id"})},
			itemErr: webhook.ErrMissingID, itemID: "CPgfbmQMTCKtHW6uIWtuVe"},
		{name: "missing user variable", file: "missing_user.json", itemErr: webhook.ErrMissingID, itemID: "bm8tdXNlci12YXJpYWJsZXM"},
		{name: "bad event timestamp", file: "bad_timestamp.json", itemErr: webhook.ErrBadItem, itemID: "YmFkLXRpbWVzdGFtcA"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newParser(t, tc.opts...)
			body := signer.Body(fixture(t, tc.file), now)
			got, err := p.Parse(request(body), body)
			require.Equal(t, tc.want, got)
			indexed, positions, ierr := newParser(t, tc.opts...).ParseIndexed(request(body), body)
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
			require.Equal(t, "mailgun", items[0].Provider)
		})
	}
}

func TestParseMalformed(t *testing.T) {
	p := newParser(t)
	for name, body := range map[string][]byte{
		"no event-data":            signer.Body(nil, now),
		"event-data not an object": signer.Body([]byte(`[]`), now),
		"form-encoded":             fixture(t, "form.txt"),
	} {
		t.Run(name, func(t *testing.T) {
			got, err := p.Parse(request(body), body)
			require.Nil(t, got)
			require.ErrorIs(t, err, webhook.ErrPayload)
		})
	}
}

func TestSignature(t *testing.T) {
	data := fixture(t, "opened.json")
	ts := strconv.FormatInt(now.Unix(), 10)
	tests := []struct {
		name string
		body func() []byte
		ok   bool
	}{
		{name: "valid", body: func() []byte { return signer.Body(data, now) }, ok: true},
		{name: "just inside the window", body: func() []byte { return signer.Body(data, now.Add(-5*time.Minute)) }, ok: true},
		{name: "stale timestamp", body: func() []byte { return signer.Body(data, now.Add(-5*time.Minute-time.Second)) }},
		{name: "timestamp from the future", body: func() []byte { return signer.Body(data, now.Add(6*time.Minute)) }},
		{name: "wrong key", body: func() []byte { return mailguntest.NewSigner().Body(data, now) }},
		{name: "tampered timestamp", body: func() []byte {
			sig := signer.Signature(now)
			sig.Timestamp = strconv.FormatInt(now.Unix()+1, 10)
			return envelope(t, sig, string(data))
		}},
		{name: "tampered token", body: func() []byte {
			sig := signer.Signature(now)
			sig.Token = "x" + sig.Token[1:]
			return envelope(t, sig, string(data))
		}},
		{name: "signature not hex", body: func() []byte {
			return envelope(t, mailguntest.Signature{Timestamp: ts, Token: "t", Signature: "SIGNATURE"}, string(data))
		}},
		{name: "no signature object", body: func() []byte { return []byte(`{"event-data":{"event":"opened"}}`) }},
		{name: "signature fields missing", body: func() []byte { return []byte(`{"signature":{"timestamp":"1"},"event-data":{}}`) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newParser(t)
			body := tc.body()
			got, err := p.Parse(request(body), body)
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

func TestReplayedTokenIsRejected(t *testing.T) {
	p := newParser(t)
	body := signer.Body(fixture(t, "opened.json"), now)
	_, err := p.Parse(request(body), body)
	require.NoError(t, err)
	_, err = p.Parse(request(body), body)
	require.ErrorIs(t, err, webhook.ErrSignature)
	require.Contains(t, err.Error(), "token already used")

	// A request that failed its signature check does not burn its token.
	sig := signer.Signature(now)
	fresh := envelope(t, sig, string(fixture(t, "clicked.json")))
	sig.Signature = "00" + sig.Signature
	forged := envelope(t, sig, string(fixture(t, "clicked.json")))
	_, err = p.Parse(request(forged), forged)
	require.ErrorIs(t, err, webhook.ErrSignature)
	_, err = p.Parse(request(fresh), fresh)
	require.NoError(t, err)
}

// TestNewSaysWhatIsWrong: each setting New rejects is named in the error.
func TestNewSaysWhatIsWrong(t *testing.T) {
	bad := []struct {
		name string
		key  string
		opts []mailgun.Option
		want string
	}{
		{"empty key", "", nil, "mailgun: empty signing key: pass the HTTP webhook signing key (Settings → API Security)"},
		{"key of white space", " \n", nil, "mailgun: empty signing key: pass the HTTP webhook signing key (Settings → API Security)"},
		{"key with a trailing newline", signer.Key + "\n", nil,
			"mailgun: signing key has white space at its start or end (a newline read from a file?): pass the key exactly as Mailgun shows it"},
		{"zero window", signer.Key, []mailgun.Option{mailgun.WithWindow(0)}, "mailgun: replay window must be positive, got 0s"},
		{"zero cache", signer.Key, []mailgun.Option{mailgun.WithTokenCache(0)}, "mailgun: token cache size must be positive, got 0"},
		{"nil clock", signer.Key, []mailgun.Option{mailgun.WithClock(nil)}, "mailgun: nil clock"},
		{"nil option", signer.Key, []mailgun.Option{nil}, "mailgun: nil option"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			p, err := mailgun.New(tc.key, tc.opts...)
			require.EqualError(t, err, tc.want)
			require.ErrorIs(t, err, webhook.ErrInvalidOption)
			require.Nil(t, p)
		})
	}
}

func TestWiderWindowAcceptsOlderRequests(t *testing.T) {
	p := newParser(t, mailgun.WithWindow(time.Hour))
	body := signer.Body(fixture(t, "opened.json"), now.Add(-30*time.Minute))
	_, err := p.Parse(request(body), body)
	require.NoError(t, err)
}

// FuzzParseMailgun fuzzes both halves of Parse: the body as a whole,
// unsigned (the envelope and signature checks must refuse it), and the
// input as event-data signed by the test's signer, so that the decoding
// past the signature check is fuzzed too.
func FuzzParseMailgun(f *testing.F) {
	for _, name := range []string{"delivered.json", "opened.json", "clicked.json", "failed.json", "missing_user.json", "bad_timestamp.json", "form.txt"} {
		f.Add(fixture(f, name))
	}
	f.Add([]byte(`{"event":"opened","id":"x","timestamp":1e400,"user-variables":null}`))
	f.Add([]byte(`{"event":"clicked","id":7,"timestamp":"NaN","user-variables":[]}`))
	f.Add([]byte(`{"signature":{"timestamp":"1767776400","token":"t","signature":"00"},"event-data":{"event":"opened"}}`))
	p := newParser(f, mailgun.WithTokenCache(64))
	f.Fuzz(func(t *testing.T, in []byte) {
		events, err := p.Parse(request(in), in)
		if events != nil || !errors.Is(err, webhook.ErrPayload) && !errors.Is(err, webhook.ErrSignature) {
			t.Fatalf("an unsigned body got %v, %v", events, err)
		}

		body := signer.Body(in, now)
		events, err = p.Parse(request(body), body)
		if items := webhook.ItemErrors(err); len(items) > 0 {
			require.Len(t, items, 1)
			if !errors.Is(items[0], webhook.ErrMissingID) && !errors.Is(items[0], webhook.ErrBadItem) {
				t.Fatalf("untyped item error: %v", items[0])
			}
		} else if err != nil && !errors.Is(err, webhook.ErrPayload) && !errors.Is(err, webhook.ErrSignature) {
			t.Fatalf("untyped error: %v", err)
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
