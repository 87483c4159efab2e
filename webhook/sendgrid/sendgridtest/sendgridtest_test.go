package sendgridtest_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/webhook/sendgrid"
	"github.com/campaignconnector/campaignconnector/webhook/sendgrid/sendgridtest"
	"github.com/stretchr/testify/require"
)

// TestSignatureFollowsSendGridsScheme checks the signer against the scheme
// as SendGrid documents it, with the standard library alone: an ASN.1
// ECDSA signature of the SHA-256 of the timestamp followed by the body,
// base64-encoded, verifiable with the base64 DER verification key.
func TestSignatureFollowsSendGridsScheme(t *testing.T) {
	s := sendgridtest.NewSigner(t)
	der, err := base64.StdEncoding.DecodeString(s.VerificationKey())
	require.NoError(t, err)
	pub, err := x509.ParsePKIXPublicKey(der)
	require.NoError(t, err)
	key := pub.(*ecdsa.PublicKey)

	body := []byte(`[{"event":"open"}]`)
	r := s.Request(t, "https://hooks.example.com/webhooks/sendgrid", body, time.Unix(1767603605, 0))
	require.Equal(t, http.MethodPost, r.Method)
	require.Equal(t, "/webhooks/sendgrid", r.URL.Path)
	require.Equal(t, "application/json", r.Header.Get("Content-Type"))
	require.Equal(t, "1767603605", r.Header.Get(sendgrid.TimestampHeader))
	got, err := io.ReadAll(r.Body)
	require.NoError(t, err)
	require.Equal(t, body, got)

	sig, err := base64.StdEncoding.DecodeString(r.Header.Get(sendgrid.SignatureHeader))
	require.NoError(t, err)
	sum := sha256.Sum256([]byte("1767603605" + string(body)))
	require.True(t, ecdsa.VerifyASN1(key, sum[:], sig), "the signature verifies over timestamp and body")
	other := sha256.Sum256([]byte("1767603606" + string(body)))
	require.False(t, ecdsa.VerifyASN1(key, other[:], sig), "the signature covers the timestamp")
}

func TestSignersHaveTheirOwnKeys(t *testing.T) {
	a, b := sendgridtest.NewSigner(t), sendgridtest.NewSigner(t)
	require.NotEqual(t, a.VerificationKey(), b.VerificationKey())
	p, err := sendgrid.New(a.VerificationKey())
	require.NoError(t, err)
	body := []byte(`[]`)
	at := time.Unix(1767603605, 0)
	require.NoError(t, p.Verify(a.Request(t, "/", body, at), body))
	require.Error(t, p.Verify(b.Request(t, "/", body, at), body))
}

// TestSignerFromKeySignsWithThatKey: a signer made from a key of the
// test's own signs with it, so that a server already verifying with its
// public half accepts the requests.
func TestSignerFromKeySignsWithThatKey(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	s := sendgridtest.NewSignerFromKey(t, key)
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	require.NoError(t, err)
	require.Equal(t, base64.StdEncoding.EncodeToString(der), s.VerificationKey())
	p, err := sendgrid.New(base64.StdEncoding.EncodeToString(der))
	require.NoError(t, err)
	body := []byte(`[]`)
	require.NoError(t, p.Verify(s.Request(t, "/", body, time.Unix(1767603605, 0)), body))
}

func TestSignerFromKeyRefusesKeysSendGridDoesNotUse(t *testing.T) {
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	for name, tc := range map[string]struct {
		key  *ecdsa.PrivateKey
		want string
	}{
		"nil":      {nil, "sendgridtest: nil private key"},
		"P-384":    {p384, "sendgridtest: private key is on curve P-384, want P-256, the curve SendGrid signs with"},
		"no curve": {&ecdsa.PrivateKey{}, "sendgridtest: private key has no curve, want P-256, the curve SendGrid signs with"},
	} {
		t.Run(name, func(t *testing.T) {
			ft := &fatalT{TB: t}
			done := make(chan struct{})
			go func() { // Fatalf ends the goroutine that calls it
				defer close(done)
				sendgridtest.NewSignerFromKey(ft, tc.key)
			}()
			<-done
			require.Equal(t, tc.want, ft.msg)
		})
	}
}

// fatalT records the message of Fatalf and ends its goroutine, as
// testing.T does, without failing the test that uses it.
type fatalT struct {
	testing.TB
	msg string
}

func (f *fatalT) Helper() {}

func (f *fatalT) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}
