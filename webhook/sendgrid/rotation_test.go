package sendgrid_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/webhook"
	"github.com/campaignconnector/campaignconnector/webhook/sendgrid"
	"github.com/campaignconnector/campaignconnector/webhook/sendgrid/sendgridtest"
	"github.com/stretchr/testify/require"
)

// TestPreviousKeyVerifiesRequestsSignedWithIt: while a key is rotated,
// a request signed with the old key passes with WithPreviousKey, and is
// refused (401) without it; one signed with the new key passes either way.
func TestPreviousKeyVerifiesRequestsSignedWithIt(t *testing.T) {
	oldKey, newKey := sendgridtest.NewSigner(t), sendgridtest.NewSigner(t)
	body := fixture(t, "delivered.json")

	without := newParser(t, newKey)
	_, err := without.Parse(request(t, oldKey, body), body)
	require.ErrorIs(t, err, webhook.ErrSignature)
	require.EqualError(t, err, "sendgrid: webhook: signature check failed: signature does not match the body and key",
		"without previous keys, the error reads as it always has")

	with := newParser(t, newKey, sendgrid.WithPreviousKey(oldKey.VerificationKey()))
	for name, s := range map[string]*sendgridtest.Signer{"old key": oldKey, "new key": newKey} {
		t.Run(name, func(t *testing.T) {
			got, err := with.Parse(request(t, s, body), body)
			require.NoError(t, err)
			require.Len(t, got, 1)
		})
	}

	_, err = with.Parse(request(t, sendgridtest.NewSigner(t), body), body)
	require.ErrorIs(t, err, webhook.ErrSignature)
	require.EqualError(t, err, "sendgrid: webhook: signature check failed: signature does not match the body and key (the current key and 1 previous tried)")

	// Through the handler: the old key's request is answered 401 without
	// the option, 200 with it.
	for _, tc := range []struct {
		parser *sendgrid.Parser
		want   int
	}{{without, http.StatusUnauthorized}, {with, http.StatusOK}} {
		h, err := webhook.NewHandler(tc.parser, webhook.TrackerFunc(func(context.Context, event.Event) error { return nil }))
		require.NoError(t, err)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, request(t, oldKey, body))
		require.Equal(t, tc.want, w.Code, w.Body.String())
	}
}

// TestPreviousKeyVerifiesSendGridsPublishedVector: the example SendGrid
// publishes verifies with its key given as a previous key, in either shape
// New accepts, after the current key failed.
func TestPreviousKeyVerifiesSendGridsPublishedVector(t *testing.T) {
	const (
		key       = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7yAQGhHPTnlvFYPAZFceEu/1FwCM/QmGUhA=="
		timestamp = "1588788367"
		signature = "MEUCIQCtIHJeH93Y+qpYeWrySphQgpNGNr/U+UyUlBkU6n7RAwIgJTz2C+8a8xonZGi6BpSzoQsbVRamr2nlxFDWYNH2j/0="
		payload   = `{"category":"example_payload","event":"test_event","message_id":"message_id"}`
	)
	der, err := base64.StdEncoding.DecodeString(key)
	require.NoError(t, err)
	pemKey := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	r := httptest.NewRequest(http.MethodPost, "/webhooks/sendgrid", strings.NewReader(payload))
	r.Header.Set(sendgrid.SignatureHeader, signature)
	r.Header.Set(sendgrid.TimestampHeader, timestamp)
	current := sendgridtest.NewSigner(t).VerificationKey()

	p, err := sendgrid.New(current)
	require.NoError(t, err)
	require.ErrorIs(t, p.Verify(r, []byte(payload)), webhook.ErrSignature)
	for _, prev := range []string{key, pemKey} {
		p, err := sendgrid.New(current, sendgrid.WithPreviousKey(sendgridtest.NewSigner(t).VerificationKey()), sendgrid.WithPreviousKey(prev))
		require.NoError(t, err)
		require.NoError(t, p.Verify(r, []byte(payload)))
		require.ErrorIs(t, p.Verify(r, []byte(payload+" ")), webhook.ErrSignature)
	}
}

// TestWithPreviousKeySaysWhatIsWrong: a malformed previous key gets the
// errors New gives for its key, naming it as the previous one; the key
// given to New, a key given twice and a fifth key are refused.
func TestWithPreviousKeySaysWhatIsWrong(t *testing.T) {
	current := sendgridtest.NewSigner(t).VerificationKey()
	der, err := base64.StdEncoding.DecodeString(current)
	require.NoError(t, err)
	currentPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	p384DER, err := x509.MarshalPKIXPublicKey(&p384.PublicKey)
	require.NoError(t, err)
	other := sendgridtest.NewSigner(t).VerificationKey()
	five := make([]sendgrid.Option, 5)
	for i := range five {
		five[i] = sendgrid.WithPreviousKey(sendgridtest.NewSigner(t).VerificationKey())
	}

	const shape = `want the base64 DER public key SendGrid shows ("MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE…") or a PEM "PUBLIC KEY" block`
	tests := []struct {
		name string
		opts []sendgrid.Option
		want string
	}{
		{"empty", []sendgrid.Option{sendgrid.WithPreviousKey("")},
			"sendgrid: empty previous verification key: pass the key SendGrid shows when Signature Verification is enabled"},
		{"not base64", []sendgrid.Option{sendgrid.WithPreviousKey("not a key!")},
			"sendgrid: previous verification key is not base64 (illegal base64 data at input byte 3); " + shape},
		{"a P-384 key", []sendgrid.Option{sendgrid.WithPreviousKey(base64.StdEncoding.EncodeToString(p384DER))},
			"sendgrid: previous verification key is on curve P-384, want an ECDSA P-256 key"},
		{"the current key", []sendgrid.Option{sendgrid.WithPreviousKey(current)},
			"sendgrid: previous verification key is the one given to New: give WithPreviousKey the key being rotated out"},
		{"the current key as PEM", []sendgrid.Option{sendgrid.WithPreviousKey(currentPEM)},
			"sendgrid: previous verification key is the one given to New: give WithPreviousKey the key being rotated out"},
		{"a key given twice", []sendgrid.Option{sendgrid.WithPreviousKey(other), sendgrid.WithPreviousKey(other + "\n")},
			"sendgrid: previous verification key given twice"},
		{"five keys", five, "sendgrid: more than 4 previous verification keys"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := sendgrid.New(current, tc.opts...)
			require.EqualError(t, err, tc.want)
			require.ErrorIs(t, err, webhook.ErrInvalidOption)
			require.Nil(t, p)
		})
	}
	_, err = sendgrid.New(current, five[:4]...)
	require.NoError(t, err, "four previous keys are allowed")
}
