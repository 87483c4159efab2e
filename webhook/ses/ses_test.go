package ses_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/webhook/ses"
	"github.com/stretchr/testify/require"
)

const (
	topic   = "arn:aws:sns:us-east-1:123456789012:ses-engagement"
	certURL = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0000000000000000000000.pem"
	msgID   = "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324"
)

// keys are made once per test binary: RSA key generation is slow.
var keys = sync.OnceValue(func() [2]*rsa.PrivateKey {
	var ks [2]*rsa.PrivateKey
	for i := range ks {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		ks[i] = k
	}
	return ks
})

// issuerURL is where the fake CA serves the intermediate certificate that
// issued the signing certificates, as the leaf's authority information
// access says.
const issuerURL = "http://crt.ca.example/intermediate.cer"

// testCA is a root, an intermediate it signed, and signing certificates
// the intermediate issues, as Amazon's CA does for SNS.
type testCA struct {
	roots        *x509.CertPool
	intermediate *x509.Certificate
	interKey     *ecdsa.PrivateKey
}

// newTestCA makes a root and an intermediate, valid for a day around now.
func newTestCA(t testing.TB) *testCA {
	t.Helper()
	rootKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	interKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	now := time.Now()
	rootTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Test Root CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	rootDER, err := x509.CreateCertificate(rand.Reader, rootTmpl, rootTmpl, &rootKey.PublicKey, rootKey)
	require.NoError(t, err)
	root, err := x509.ParseCertificate(rootDER)
	require.NoError(t, err)
	interTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "Test RSA 2048 M01"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	interDER, err := x509.CreateCertificate(rand.Reader, interTmpl, root, &interKey.PublicKey, rootKey)
	require.NoError(t, err)
	inter, err := x509.ParseCertificate(interDER)
	require.NoError(t, err)
	roots := x509.NewCertPool()
	roots.AddCert(root)
	return &testCA{roots: roots, intermediate: inter, interKey: interKey}
}

// leafPEM issues a signing certificate for key with the given DNS names,
// valid from notBefore to notAfter, naming the intermediate's address.
func (ca *testCA) leafPEM(t testing.TB, key *rsa.PrivateKey, names []string, notBefore, notAfter time.Time) []byte {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "sns.amazonaws.com"},
		DNSNames: names, NotBefore: notBefore, NotAfter: notAfter,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IssuingCertificateURL: []string{issuerURL},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.intermediate, &key.PublicKey, ca.interKey)
	require.NoError(t, err)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// fakeAWS is the part of AWS the parser talks to, as an http.RoundTripper:
// it serves a signing certificate, issued by its test CA for
// sns.amazonaws.com, at every .pem URL, the CA's intermediate at
// issuerURL, and records subscription confirmations.
type fakeAWS struct {
	ca      *testCA
	certPEM []byte

	mu            sync.Mutex
	fetched       []string
	issuerFetches int
	confirmed     []string
	certStatus    int // 0: 200
	issuerStatus  int // 0: 200
	confirmStatus int // 0: 200
}

func newFakeAWS(t testing.TB) *fakeAWS {
	t.Helper()
	ca := newTestCA(t)
	now := time.Now()
	return &fakeAWS{ca: ca, certPEM: ca.leafPEM(t, keys()[0], []string{"sns.amazonaws.com"}, now.Add(-time.Hour), now.Add(time.Hour))}
}

func (a *fakeAWS) RoundTrip(req *http.Request) (*http.Response, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	reply := func(status int, body []byte) (*http.Response, error) {
		return &http.Response{StatusCode: status, Status: http.StatusText(status), Body: io.NopCloser(bytes.NewReader(body)), Request: req}, nil
	}
	switch {
	case req.URL.String() == issuerURL:
		a.issuerFetches++
		if a.issuerStatus != 0 {
			return reply(a.issuerStatus, nil)
		}
		return reply(200, a.ca.intermediate.Raw)
	case strings.HasSuffix(req.URL.Path, ".pem"):
		a.fetched = append(a.fetched, req.URL.String())
		if a.certStatus != 0 {
			return reply(a.certStatus, nil)
		}
		return reply(200, a.certPEM)
	case req.URL.Query().Get("Action") == "ConfirmSubscription":
		a.confirmed = append(a.confirmed, req.URL.Query().Get("TopicArn"))
		if a.confirmStatus != 0 {
			return reply(a.confirmStatus, nil)
		}
		return reply(200, []byte("<ConfirmSubscriptionResponse/>"))
	}
	return reply(404, nil)
}

func (a *fakeAWS) counts() (fetched, confirmed int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.fetched), len(a.confirmed)
}

func (a *fakeAWS) client() *http.Client { return &http.Client{Transport: a} }

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return b
}

// notification wraps an SES event in an SNS envelope, unsigned.
func notification(msg []byte, version string) map[string]string {
	return map[string]string{
		"Type":             "Notification",
		"MessageId":        msgID,
		"TopicArn":         topic,
		"Message":          string(msg),
		"Timestamp":        "2026-01-07T09:02:00.100Z",
		"SignatureVersion": version,
		"SigningCertURL":   certURL,
		"UnsubscribeURL":   "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=" + topic + ":2bcfbf39-05c3-41de-beaa-fcfcc21c8f55",
	}
}

// sign signs env as SNS does, written independently of the parser from
// the AWS documentation, and returns the JSON body.
func sign(t testing.TB, key *rsa.PrivateKey, env map[string]string) []byte {
	t.Helper()
	fields := []string{"Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"}
	if env["Type"] != "Notification" {
		fields = []string{"Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"}
	}
	var b strings.Builder
	for _, f := range fields {
		if v, ok := env[f]; ok {
			b.WriteString(f + "\n" + v + "\n")
		}
	}
	h, digest := crypto.SHA256, sha256Sum(b.String())
	if env["SignatureVersion"] == "1" {
		h, digest = crypto.SHA1, sha1Sum(b.String())
	}
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, h, digest)
	require.NoError(t, err)
	env["Signature"] = base64.StdEncoding.EncodeToString(sig)
	body, err := json.Marshal(env)
	require.NoError(t, err)
	return body
}

func sha1Sum(s string) []byte   { x := sha1.Sum([]byte(s)); return x[:] }
func sha256Sum(s string) []byte { x := sha256.Sum256([]byte(s)); return x[:] }

// envelopeFixture reads a whole SNS envelope from testdata.
func envelopeFixture(t testing.TB, name string) map[string]string {
	t.Helper()
	var env map[string]string
	require.NoError(t, json.Unmarshal(fixture(t, name), &env))
	return env
}

func request(body []byte) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/webhooks/ses", bytes.NewReader(body))
	r.Header.Set("Content-Type", "text/plain; charset=UTF-8") // what SNS sends
	r.Header.Set("X-Amz-Sns-Message-Type", "Notification")
	return r
}

func newParser(t testing.TB, aws *fakeAWS, opts ...ses.Option) *ses.Parser {
	t.Helper()
	p, err := ses.New(append([]ses.Option{ses.WithHTTPClient(aws.client()), ses.WithRoots(aws.ca.roots)}, opts...)...)
	require.NoError(t, err)
	return p
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}
