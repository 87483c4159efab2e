package mailgun_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/webhook"
	"github.com/campaignconnector/campaignconnector/webhook/mailgun"
	"github.com/stretchr/testify/require"
)

const key = "test-webhook-signing-key"

var now = time.Date(2026, time.January, 7, 9, 0, 0, 0, time.UTC)

type clockAt time.Time

func (c clockAt) Now() time.Time { return time.Time(c) }

var tokens atomic.Int64

// sign fills a fixture's signature placeholders as Mailgun would: a fresh
// token, the timestamp at, and the HMAC of both under k.
func sign(t testing.TB, body []byte, k string, at time.Time) []byte {
	t.Helper()
	ts := strconv.FormatInt(at.Unix(), 10)
	token := fmt.Sprintf("%050d", tokens.Add(1))
	mac := hmac.New(sha256.New, []byte(k))
	mac.Write([]byte(ts + token))
	body = bytes.Replace(body, []byte("SIGNED_AT"), []byte(ts), 1)
	body = bytes.Replace(body, []byte(`"TOKEN"`), []byte(`"`+token+`"`), 1)
	return bytes.Replace(body, []byte("SIGNATURE"), []byte(hex.EncodeToString(mac.Sum(nil))), 1)
}

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return b
}

func request(body []byte) *http.Request {
	return httptest.NewRequest(http.MethodPost, "/webhooks/mailgun", bytes.NewReader(body))
}

func newParser(t testing.TB, opts ...mailgun.Option) *mailgun.Parser {
	t.Helper()
	p, err := mailgun.New(key, append([]mailgun.Option{mailgun.WithClock(clockAt(now))}, opts...)...)
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
			body := sign(t, fixture(t, tc.file), key, now)
			got, err := p.Parse(request(body), body)
			require.Equal(t, tc.want, got)
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
	for _, name := range []string{"no_event_data.json", "form.txt"} {
		t.Run(name, func(t *testing.T) {
			body := sign(t, fixture(t, name), key, now)
			got, err := p.Parse(request(body), body)
			require.Nil(t, got)
			if name == "form.txt" {
				require.ErrorIs(t, err, webhook.ErrPayload)
				return
			}
			require.ErrorIs(t, err, webhook.ErrPayload)
		})
	}
}

func TestSignature(t *testing.T) {
	tmpl := fixture(t, "opened.json")
	tests := []struct {
		name string
		body func() []byte
		ok   bool
	}{
		{name: "valid", body: func() []byte { return sign(t, tmpl, key, now) }, ok: true},
		{name: "just inside the window", body: func() []byte { return sign(t, tmpl, key, now.Add(-5*time.Minute)) }, ok: true},
		{name: "stale timestamp", body: func() []byte { return sign(t, tmpl, key, now.Add(-5*time.Minute-time.Second)) }},
		{name: "timestamp from the future", body: func() []byte { return sign(t, tmpl, key, now.Add(6*time.Minute)) }},
		{name: "wrong key", body: func() []byte { return sign(t, tmpl, "another-key", now) }},
		{name: "tampered timestamp", body: func() []byte {
			b := sign(t, tmpl, key, now)
			ts := strconv.FormatInt(now.Unix(), 10)
			return bytes.Replace(b, []byte(`"`+ts+`"`), []byte(`"`+strconv.FormatInt(now.Unix()+1, 10)+`"`), 1)
		}},
		{name: "tampered token", body: func() []byte {
			return bytes.Replace(sign(t, tmpl, key, now), []byte(`"token": "0`), []byte(`"token": "1`), 1)
		}},
		{name: "signature not hex", body: func() []byte {
			return bytes.Replace(tmpl, []byte("SIGNED_AT"), []byte(strconv.FormatInt(now.Unix(), 10)), 1)
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
	body := sign(t, fixture(t, "opened.json"), key, now)
	_, err := p.Parse(request(body), body)
	require.NoError(t, err)
	_, err = p.Parse(request(body), body)
	require.ErrorIs(t, err, webhook.ErrSignature)
	require.Contains(t, err.Error(), "token already used")

	// A request that failed its signature check does not burn its token.
	fresh := sign(t, fixture(t, "clicked.json"), key, now)
	forged := bytes.Replace(fresh, []byte(`"signature": "`), []byte(`"signature": "00`), 1)
	_, err = p.Parse(request(forged), forged)
	require.ErrorIs(t, err, webhook.ErrSignature)
	_, err = p.Parse(request(fresh), fresh)
	require.NoError(t, err)
}

func TestNew(t *testing.T) {
	bad := []struct {
		name string
		key  string
		opts []mailgun.Option
	}{
		{"empty key", "", nil},
		{"zero window", key, []mailgun.Option{mailgun.WithWindow(0)}},
		{"zero cache", key, []mailgun.Option{mailgun.WithTokenCache(0)}},
		{"nil clock", key, []mailgun.Option{mailgun.WithClock(nil)}},
		{"nil option", key, []mailgun.Option{nil}},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			p, err := mailgun.New(tc.key, tc.opts...)
			require.Error(t, err)
			require.Nil(t, p)
			require.Contains(t, err.Error(), "mailgun: ")
		})
	}
	p := newParser(t, mailgun.WithWindow(time.Hour))
	body := sign(t, fixture(t, "opened.json"), key, now.Add(-30*time.Minute))
	_, err := p.Parse(request(body), body)
	require.NoError(t, err, "a wider window accepts older requests")
}

// FuzzParseMailgun signs whatever event-data it is given, so that the
// decoding past the signature check is what gets fuzzed.
func FuzzParseMailgun(f *testing.F) {
	for _, name := range []string{"delivered.json", "opened.json", "clicked.json", "failed.json", "missing_user.json", "bad_timestamp.json", "no_event_data.json", "form.txt"} {
		f.Add(fixture(f, name))
	}
	f.Add([]byte(`{"signature":{"timestamp":"SIGNED_AT","token":"TOKEN","signature":"SIGNATURE"},"event-data":{"event":"opened","id":"x","timestamp":1e400,"user-variables":null}}`))
	f.Add([]byte(`{"signature":{"timestamp":"SIGNED_AT","token":"TOKEN","signature":"SIGNATURE"},"event-data":{"event":"clicked","id":7,"timestamp":"NaN","user-variables":[]}}`))
	p := newParser(f, mailgun.WithTokenCache(64))
	f.Fuzz(func(t *testing.T, tmpl []byte) {
		body := sign(t, tmpl, key, now)
		events, err := p.Parse(request(body), body)
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
