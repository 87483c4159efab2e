package sendgrid_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/webhook"
	"github.com/campaignconnector/campaignconnector/webhook/sendgrid"
	"github.com/campaignconnector/campaignconnector/webhook/sendgrid/sendgridtest"
	"github.com/stretchr/testify/require"
)

// signedAt is when the requests of the tests are signed.
var signedAt = time.Unix(1767603605, 0)

// request returns a POST carrying body, signed by s at signedAt.
func request(t testing.TB, s *sendgridtest.Signer, body []byte) *http.Request {
	t.Helper()
	return s.Request(t, "/webhooks/sendgrid", body, signedAt)
}

type clockAt time.Time

func (c clockAt) Now() time.Time { return time.Time(c) }

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return b
}

func newParser(t testing.TB, s *sendgridtest.Signer, opts ...sendgrid.Option) *sendgrid.Parser {
	t.Helper()
	p, err := sendgrid.New(s.VerificationKey(), opts...)
	require.NoError(t, err)
	return p
}

type itemWant struct {
	index int
	id    string
	err   error
}

func TestParseFixtures(t *testing.T) {
	s := sendgridtest.NewSigner(t)
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
			got, err := p.Parse(request(t, s, body), body)
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

// TestParseIndexedGivesEachEventsItem: ParseIndexed returns Parse's
// events and errors, with the position of each event's item in the batch,
// skipped items and item errors leaving gaps.
func TestParseIndexedGivesEachEventsItem(t *testing.T) {
	s := sendgridtest.NewSigner(t)
	p := newParser(t, s)
	body := fixture(t, "batch.json")
	want, wantErr := p.Parse(request(t, s, body), body)
	got, items, err := p.ParseIndexed(request(t, s, body), body)
	require.Equal(t, want, got)
	require.Equal(t, wantErr, err)
	require.Equal(t, []int{1, 5}, items)
}

func TestParseMalformed(t *testing.T) {
	s := sendgridtest.NewSigner(t)
	p := newParser(t, s)
	for _, file := range []string{"not_array.json", "truncated.json"} {
		t.Run(file, func(t *testing.T) {
			body := fixture(t, file)
			got, err := p.Parse(request(t, s, body), body)
			require.ErrorIs(t, err, webhook.ErrPayload)
			require.Nil(t, got)
		})
	}
}

func TestSignature(t *testing.T) {
	s, other := sendgridtest.NewSigner(t), sendgridtest.NewSigner(t)
	body := fixture(t, "delivered.json")
	now := time.Unix(1767603605, 0)
	tests := []struct {
		name    string
		opts    []sendgrid.Option
		request func() *http.Request
		body    []byte
		ok      bool
	}{
		{name: "valid", request: func() *http.Request { return request(t, s, body) }, ok: true},
		{name: "tampered body", request: func() *http.Request { return request(t, s, body) },
			body: bytes.Replace(body, []byte(`"ann"`), []byte(`"eve"`), 1)},
		{name: "tampered timestamp", request: func() *http.Request {
			r := request(t, s, body)
			r.Header.Set(sendgrid.TimestampHeader, "1767603606")
			return r
		}},
		{name: "wrong key", request: func() *http.Request { return request(t, other, body) }},
		{name: "missing signature", request: func() *http.Request {
			r := request(t, s, body)
			r.Header.Del(sendgrid.SignatureHeader)
			return r
		}},
		{name: "missing timestamp", request: func() *http.Request {
			r := request(t, s, body)
			r.Header.Del(sendgrid.TimestampHeader)
			return r
		}},
		{name: "signature not base64", request: func() *http.Request {
			r := request(t, s, body)
			r.Header.Set(sendgrid.SignatureHeader, "%%%")
			return r
		}},
		{name: "signature garbage", request: func() *http.Request {
			r := request(t, s, body)
			r.Header.Set(sendgrid.SignatureHeader, base64.StdEncoding.EncodeToString([]byte("garbage")))
			return r
		}},
		{name: "fresh within max age", opts: []sendgrid.Option{sendgrid.WithMaxAge(5 * time.Minute), sendgrid.WithClock(clockAt(now))},
			request: func() *http.Request { return request(t, s, body) }, ok: true},
		{name: "stale timestamp", opts: []sendgrid.Option{sendgrid.WithMaxAge(5 * time.Minute), sendgrid.WithClock(clockAt(now.Add(time.Hour)))},
			request: func() *http.Request { return request(t, s, body) }},
		{name: "timestamp from the future", opts: []sendgrid.Option{sendgrid.WithMaxAge(5 * time.Minute), sendgrid.WithClock(clockAt(now.Add(-time.Hour)))},
			request: func() *http.Request { return request(t, s, body) }},
		{name: "stale ignored without max age", opts: []sendgrid.Option{sendgrid.WithClock(clockAt(now.Add(48 * time.Hour)))},
			request: func() *http.Request { return request(t, s, body) }, ok: true},
		{name: "signed timestamp not a number", opts: []sendgrid.Option{sendgrid.WithMaxAge(5 * time.Minute), sendgrid.WithClock(clockAt(now))},
			request: func() *http.Request {
				r := request(t, s, body)
				r.Header.Set(sendgrid.TimestampHeader, "soon")
				r.Header.Set(sendgrid.SignatureHeader, s.Sign(t, "soon", body))
				return r
			}},
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

func TestNewAcceptsTheKeyShapesSendGridShows(t *testing.T) {
	s := sendgridtest.NewSigner(t)
	der, err := base64.StdEncoding.DecodeString(s.VerificationKey())
	require.NoError(t, err)
	pemKey := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	for _, tc := range []struct{ name, key string }{
		{"base64 DER", s.VerificationKey()},
		{"base64 DER with newline", s.VerificationKey() + "\n"},
		{"PEM", pemKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := sendgrid.New(tc.key)
			require.NoError(t, err)
			body := fixture(t, "open.json")
			_, err = p.Parse(request(t, s, body), body)
			require.NoError(t, err)
		})
	}
}

// TestNewSaysWhatIsWrongWithTheKey: an empty key is named as such, and a
// malformed one gets an error that shows the shape SendGrid's key has.
func TestNewSaysWhatIsWrongWithTheKey(t *testing.T) {
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	p384DER, err := x509.MarshalPKIXPublicKey(&p384.PublicKey)
	require.NoError(t, err)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	rsaDER, err := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	require.NoError(t, err)
	p256, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	privDER, err := x509.MarshalECPrivateKey(p256)
	require.NoError(t, err)
	privPEM := string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: privDER}))

	const shape = `want the base64 DER public key SendGrid shows ("MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE…") or a PEM "PUBLIC KEY" block`
	tests := []struct {
		name, key, want string
	}{
		{"empty", "", "sendgrid: empty verification key: pass the key SendGrid shows when Signature Verification is enabled"},
		{"only white space", " \n\t", "sendgrid: empty verification key: pass the key SendGrid shows when Signature Verification is enabled"},
		{"not base64", "not a key!",
			"sendgrid: verification key is not base64 (illegal base64 data at input byte 3); " + shape},
		{"a private key", privPEM, `sendgrid: verification key is a PEM "EC PRIVATE KEY" block; ` + shape},
		{"an incomplete PEM block", "-----BEGIN PUBLIC KEY-----\n" + base64.StdEncoding.EncodeToString(p384DER),
			"sendgrid: verification key is an incomplete PEM block; " + shape},
		{"a P-384 key", base64.StdEncoding.EncodeToString(p384DER), "sendgrid: verification key is on curve P-384, want an ECDSA P-256 key"},
		{"an RSA key", base64.StdEncoding.EncodeToString(rsaDER), "sendgrid: verification key is a *rsa.PublicKey, want an ECDSA P-256 key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := sendgrid.New(tc.key)
			require.EqualError(t, err, tc.want)
			require.ErrorIs(t, err, webhook.ErrInvalidOption)
			require.Nil(t, p)
		})
	}
	t.Run("base64 of something else", func(t *testing.T) {
		// The middle of the message is encoding/asn1's own.
		p, err := sendgrid.New(base64.StdEncoding.EncodeToString([]byte("garbage")))
		require.Nil(t, p)
		require.ErrorContains(t, err, "sendgrid: verification key is not a DER public key (asn1: ")
		require.ErrorIs(t, err, webhook.ErrInvalidOption)
		require.True(t, strings.HasSuffix(err.Error(), "); "+shape), err.Error())
	})
}

func TestNewRejectsBadOptions(t *testing.T) {
	key := sendgridtest.NewSigner(t).VerificationKey()
	tests := []struct {
		name string
		opts []sendgrid.Option
		want string
	}{
		{"zero max age", []sendgrid.Option{sendgrid.WithMaxAge(0)}, "sendgrid: max age must be positive, got 0s"},
		{"nil clock", []sendgrid.Option{sendgrid.WithClock(nil)}, "sendgrid: nil clock"},
		{"nil option", []sendgrid.Option{nil}, "sendgrid: nil option"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := sendgrid.New(key, tc.opts...)
			require.EqualError(t, err, tc.want)
			require.Nil(t, p)
		})
	}
}

// TestPublishedVector checks the signature scheme against the example
// SendGrid publishes with its Go helper library, so that the parser and
// sendgridtest cannot agree on a scheme SendGrid does not use.
func TestPublishedVector(t *testing.T) {
	const (
		key       = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7yAQGhHPTnlvFYPAZFceEu/1FwCM/QmGUhA=="
		timestamp = "1588788367"
		signature = "MEUCIQCtIHJeH93Y+qpYeWrySphQgpNGNr/U+UyUlBkU6n7RAwIgJTz2C+8a8xonZGi6BpSzoQsbVRamr2nlxFDWYNH2j/0="
		payload   = `{"category":"example_payload","event":"test_event","message_id":"message_id"}`
	)
	p, err := sendgrid.New(key)
	require.NoError(t, err)
	r := httptest.NewRequest(http.MethodPost, "/webhooks/sendgrid", strings.NewReader(payload))
	r.Header.Set(sendgrid.SignatureHeader, signature)
	r.Header.Set(sendgrid.TimestampHeader, timestamp)
	require.NoError(t, p.Verify(r, []byte(payload)))
	require.ErrorIs(t, p.Verify(r, []byte(payload+" ")), webhook.ErrSignature)
	r.Header.Set(sendgrid.TimestampHeader, "1588788368")
	require.ErrorIs(t, p.Verify(r, []byte(payload)), webhook.ErrSignature)
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
	s := sendgridtest.NewSigner(f)
	p := newParser(f, s, sendgrid.WithoutMachineOpens())
	f.Fuzz(func(t *testing.T, body []byte) {
		events, err := p.Parse(request(t, s, body), body)
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
