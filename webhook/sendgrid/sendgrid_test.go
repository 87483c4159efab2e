package sendgrid_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
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
	"github.com/campaignconnector/campaignconnector/webhook/sendgrid"
	"github.com/stretchr/testify/require"
)

// signer plays SendGrid: a key pair made for the test run.
type signer struct {
	priv *ecdsa.PrivateKey
	pub  string // base64 DER, as SendGrid shows it
}

func newSigner(t testing.TB) signer {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	der, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	require.NoError(t, err)
	return signer{priv: priv, pub: base64.StdEncoding.EncodeToString(der)}
}

// request returns a POST carrying body, signed at ts.
func (s signer) request(t testing.TB, body []byte, ts string) *http.Request {
	t.Helper()
	h := sha256.Sum256(append([]byte(ts), body...))
	sig, err := ecdsa.SignASN1(rand.Reader, s.priv, h[:])
	require.NoError(t, err)
	r := httptest.NewRequest(http.MethodPost, "/webhooks/sendgrid", bytes.NewReader(body))
	r.Header.Set(sendgrid.SignatureHeader, base64.StdEncoding.EncodeToString(sig))
	r.Header.Set(sendgrid.TimestampHeader, ts)
	return r
}

type clockAt time.Time

func (c clockAt) Now() time.Time { return time.Time(c) }

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return b
}

func newParser(t testing.TB, s signer, opts ...sendgrid.Option) *sendgrid.Parser {
	t.Helper()
	p, err := sendgrid.New(s.pub, opts...)
	require.NoError(t, err)
	return p
}

const ts = "1767603605"

type itemWant struct {
	index int
	id    string
	err   error
}

func TestParseFixtures(t *testing.T) {
	s := newSigner(t)
	unix := func(sec int64) time.Time { return time.Unix(sec, 0).UTC() }
	tests := []struct {
		name  string
		file  string
		opts  []sendgrid.Option
		want  []event.Event
		items []itemWant
	}{
		{name: "delivered is email_received", file: "delivered.json", want: []event.Event{
			{ID: "rbtnWrG1DVDGGGFHFyun0A", UserID: "ann", Kind: event.EmailReceived, CampaignID: "newsletter", Time: unix(1767603600)},
		}},
		{name: "open is email_opened", file: "open.json", want: []event.Event{
			{ID: "FOTFFO0ecsBE-zxFXfs6WA", UserID: "ann", Kind: event.EmailOpened, CampaignID: "newsletter", Time: unix(1767776400)},
		}},
		{name: "click is email_clicked with its url", file: "click.json", want: []event.Event{
			{ID: "kCAi1KttyQdEKHhdC-nuEA", UserID: "ann", Kind: event.EmailClicked, CampaignID: "newsletter", Time: unix(1767776460),
				Properties: map[string]any{"url": "https://shop.example.com/sale?utm_source=newsletter"}},
		}},
		{name: "machine opens count by default", file: "machine_open.json", want: []event.Event{
			{ID: "bWFjaGluZS1vcGVuLTAwMQ", UserID: "bob", Kind: event.EmailOpened, CampaignID: "newsletter", Time: unix(1767603660)},
		}},
		{name: "machine opens skipped on request", file: "machine_open.json", opts: []sendgrid.Option{sendgrid.WithoutMachineOpens()}},
		{name: "human opens kept without machine opens", file: "open.json", opts: []sendgrid.Option{sendgrid.WithoutMachineOpens()}, want: []event.Event{
			{ID: "FOTFFO0ecsBE-zxFXfs6WA", UserID: "ann", Kind: event.EmailOpened, CampaignID: "newsletter", Time: unix(1767776400)},
		}},
		{name: "custom mapping", file: "delivered.json",
			opts:  []sendgrid.Option{sendgrid.WithMapping(webhook.Mapping{CampaignKey: "category_id", UserKey: "user_id"})},
			items: []itemWant{{0, "rbtnWrG1DVDGGGFHFyun0A", webhook.ErrMissingID}}},
		{name: "empty batch", file: "empty.json"},
		{name: "batch: skips, item errors, numeric custom arg", file: "batch.json",
			want: []event.Event{
				{ID: "rbtnWrG1DVDGGGFHFyun0A", UserID: "ann", Kind: event.EmailReceived, CampaignID: "newsletter", Time: unix(1767603600)},
				{ID: "b3Blbi0wMDE", UserID: "dan", Kind: event.EmailOpened, CampaignID: "42", Time: unix(1767603700)},
			},
			items: []itemWant{
				{3, "ZGVsaXZlcmVkLW5vLXVzZXI", webhook.ErrMissingID},
				{4, "YmFkLXRpbWVzdGFtcA", webhook.ErrBadItem},
				{6, "", webhook.ErrBadItem},
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newParser(t, s, tc.opts...)
			body := fixture(t, tc.file)
			got, err := p.Parse(s.request(t, body, ts), body)
			require.Equal(t, tc.want, got)
			items := webhook.ItemErrors(err)
			require.Len(t, items, len(tc.items), "%v", err)
			for i, w := range tc.items {
				require.Equal(t, "sendgrid", items[i].Provider)
				require.Equal(t, w.index, items[i].Index)
				require.Equal(t, w.id, items[i].ProviderEventID)
				require.ErrorIs(t, items[i], w.err)
			}
			require.NotErrorIs(t, err, webhook.ErrSignature)
			require.NotErrorIs(t, err, webhook.ErrPayload)
			for _, ev := range got {
				require.NoError(t, ev.Validate())
			}
		})
	}
}

func TestParseMalformed(t *testing.T) {
	s := newSigner(t)
	p := newParser(t, s)
	for _, file := range []string{"not_array.json", "truncated.json"} {
		t.Run(file, func(t *testing.T) {
			body := fixture(t, file)
			got, err := p.Parse(s.request(t, body, ts), body)
			require.ErrorIs(t, err, webhook.ErrPayload)
			require.Nil(t, got)
		})
	}
}

func TestSignature(t *testing.T) {
	s, other := newSigner(t), newSigner(t)
	body := fixture(t, "delivered.json")
	now := time.Unix(1767603605, 0)
	tests := []struct {
		name    string
		opts    []sendgrid.Option
		request func() *http.Request
		body    []byte
		ok      bool
	}{
		{name: "valid", request: func() *http.Request { return s.request(t, body, ts) }, ok: true},
		{name: "tampered body", request: func() *http.Request { return s.request(t, body, ts) },
			body: bytes.Replace(body, []byte(`"ann"`), []byte(`"eve"`), 1)},
		{name: "tampered timestamp", request: func() *http.Request {
			r := s.request(t, body, ts)
			r.Header.Set(sendgrid.TimestampHeader, "1767603606")
			return r
		}},
		{name: "wrong key", request: func() *http.Request { return other.request(t, body, ts) }},
		{name: "missing signature", request: func() *http.Request {
			r := s.request(t, body, ts)
			r.Header.Del(sendgrid.SignatureHeader)
			return r
		}},
		{name: "missing timestamp", request: func() *http.Request {
			r := s.request(t, body, ts)
			r.Header.Del(sendgrid.TimestampHeader)
			return r
		}},
		{name: "signature not base64", request: func() *http.Request {
			r := s.request(t, body, ts)
			r.Header.Set(sendgrid.SignatureHeader, "%%%")
			return r
		}},
		{name: "signature garbage", request: func() *http.Request {
			r := s.request(t, body, ts)
			r.Header.Set(sendgrid.SignatureHeader, base64.StdEncoding.EncodeToString([]byte("garbage")))
			return r
		}},
		{name: "fresh within max age", opts: []sendgrid.Option{sendgrid.WithMaxAge(5 * time.Minute), sendgrid.WithClock(clockAt(now))},
			request: func() *http.Request { return s.request(t, body, ts) }, ok: true},
		{name: "stale timestamp", opts: []sendgrid.Option{sendgrid.WithMaxAge(5 * time.Minute), sendgrid.WithClock(clockAt(now.Add(time.Hour)))},
			request: func() *http.Request { return s.request(t, body, ts) }},
		{name: "timestamp from the future", opts: []sendgrid.Option{sendgrid.WithMaxAge(5 * time.Minute), sendgrid.WithClock(clockAt(now.Add(-time.Hour)))},
			request: func() *http.Request { return s.request(t, body, ts) }},
		{name: "stale ignored without max age", opts: []sendgrid.Option{sendgrid.WithClock(clockAt(now.Add(48 * time.Hour)))},
			request: func() *http.Request { return s.request(t, body, ts) }, ok: true},
		{name: "signed timestamp not a number", opts: []sendgrid.Option{sendgrid.WithMaxAge(5 * time.Minute), sendgrid.WithClock(clockAt(now))},
			request: func() *http.Request { return s.request(t, body, "soon") }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newParser(t, s, tc.opts...)
			b := body
			if tc.body != nil {
				b = tc.body
			}
			got, err := p.Parse(tc.request(), b)
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

func TestNew(t *testing.T) {
	s := newSigner(t)
	der, err := base64.StdEncoding.DecodeString(s.pub)
	require.NoError(t, err)
	pemKey := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	p384DER, err := x509.MarshalPKIXPublicKey(&p384.PublicKey)
	require.NoError(t, err)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	rsaDER, err := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	require.NoError(t, err)

	good := []struct {
		name string
		key  string
	}{
		{"base64 DER", s.pub},
		{"base64 DER with newline", s.pub + "\n"},
		{"PEM", pemKey},
	}
	for _, tc := range good {
		t.Run("accepts "+tc.name, func(t *testing.T) {
			p, err := sendgrid.New(tc.key)
			require.NoError(t, err)
			body := fixture(t, "open.json")
			_, err = p.Parse(s.request(t, body, ts), body)
			require.NoError(t, err)
		})
	}
	bad := []struct {
		name string
		key  string
		opts []sendgrid.Option
	}{
		{name: "empty key", key: ""},
		{name: "not base64", key: "not a key!"},
		{name: "base64 of garbage", key: base64.StdEncoding.EncodeToString([]byte("garbage"))},
		{name: "P-384 key", key: base64.StdEncoding.EncodeToString(p384DER)},
		{name: "RSA key", key: base64.StdEncoding.EncodeToString(rsaDER)},
		{name: "zero max age", key: s.pub, opts: []sendgrid.Option{sendgrid.WithMaxAge(0)}},
		{name: "nil clock", key: s.pub, opts: []sendgrid.Option{sendgrid.WithClock(nil)}},
		{name: "nil option", key: s.pub, opts: []sendgrid.Option{nil}},
	}
	for _, tc := range bad {
		t.Run("rejects "+tc.name, func(t *testing.T) {
			p, err := sendgrid.New(tc.key, tc.opts...)
			require.Error(t, err)
			require.Nil(t, p)
			require.Contains(t, err.Error(), "sendgrid: ")
		})
	}
}

// FuzzParseSendGrid signs whatever body it is given, so that the decoding
// past the signature check is what gets fuzzed.
func FuzzParseSendGrid(f *testing.F) {
	for _, name := range []string{"delivered.json", "open.json", "click.json", "machine_open.json", "batch.json", "not_array.json", "truncated.json", "empty.json"} {
		f.Add(fixture(f, name))
	}
	f.Add([]byte(`[{"event":"open","sg_event_id":"x","timestamp":1e308,"campaign_id":"c","user_id":"u"}]`))
	f.Add([]byte(`[{"event":"click","sg_event_id":"x","timestamp":-1,"campaign_id":"c","user_id":"u"}]`))
	f.Add([]byte(`[null, 1, [], {"event":null}]`))
	s := newSigner(f)
	p := newParser(f, s, sendgrid.WithoutMachineOpens())
	f.Fuzz(func(t *testing.T, body []byte) {
		events, err := p.Parse(s.request(t, body, strconv.Itoa(1767603605)), body)
		items := webhook.ItemErrors(err)
		for _, it := range items {
			if !errors.Is(it, webhook.ErrMissingID) && !errors.Is(it, webhook.ErrBadItem) {
				t.Fatalf("untyped item error: %v", it)
			}
		}
		if len(items) == 0 && err != nil {
			require.ErrorIs(t, err, webhook.ErrPayload)
			require.Nil(t, events)
		}
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
