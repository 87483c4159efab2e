package ses_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/webhook/ses"
	"github.com/campaignconnector/campaignconnector/webhook/ses/sestest"
	"github.com/stretchr/testify/require"
)

const (
	topic   = "arn:aws:sns:us-east-1:123456789012:ses-engagement"
	certURL = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0000000000000000000000.pem"
	msgID   = "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324"
)

// fakeAWS wraps an SNS from sestest, which signs the messages and serves
// its certificates: it counts what the parser asks of AWS and, where a
// test sets a status, answers with it instead.
type fakeAWS struct {
	sns *sestest.SNS

	mu            sync.Mutex
	fetched       []string
	issuerFetches int
	confirmed     []string
	certStatus    int // 0: the SNS's answer
	issuerStatus  int // 0: the SNS's answer
	confirmStatus int // 0: the SNS's answer
}

func newFakeAWS(t testing.TB) *fakeAWS {
	t.Helper()
	return &fakeAWS{sns: sestest.New(t)}
}

func (a *fakeAWS) RoundTrip(req *http.Request) (*http.Response, error) {
	a.mu.Lock()
	status := 0
	switch {
	case req.URL.String() == sestest.IssuerURL:
		a.issuerFetches++
		status = a.issuerStatus
	case strings.HasSuffix(req.URL.Path, ".pem"):
		a.fetched = append(a.fetched, req.URL.String())
		status = a.certStatus
	case req.URL.Query().Get("Action") == "ConfirmSubscription":
		a.confirmed = append(a.confirmed, req.URL.Query().Get("TopicArn"))
		status = a.confirmStatus
	}
	a.mu.Unlock()
	if status != 0 {
		rec := httptest.NewRecorder()
		rec.WriteHeader(status)
		return rec.Result(), nil
	}
	return a.sns.RoundTrip(req)
}

func (a *fakeAWS) counts() (fetched, confirmed int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.fetched), len(a.confirmed)
}

func (a *fakeAWS) client() *http.Client { return &http.Client{Transport: a} }

// notification wraps an SES event in an SNS notification with the tests'
// ids and the given signature version, unsigned.
func (a *fakeAWS) notification(msg []byte, version string) sestest.Message {
	m := a.sns.Notification(topic, msg)
	m.MessageID = msgID
	m.Timestamp = published.Format("2006-01-02T15:04:05.000Z")
	m.SignatureVersion = version
	m.SigningCertURL = certURL
	return m
}

// published is when the tests' notifications say SNS published them.
var published = time.Date(2026, 1, 7, 9, 2, 0, 100_000_000, time.UTC)

// clockAt is a clock stopped at a time.
type clockAt time.Time

func (c clockAt) Now() time.Time { return time.Time(c) }

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return b
}

// envelopeFixture reads a whole SNS message from testdata.
func envelopeFixture(t testing.TB, name string) sestest.Message {
	t.Helper()
	var m sestest.Message
	require.NoError(t, json.Unmarshal(fixture(t, name), &m))
	return m
}

func request(body []byte) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/webhooks/ses", bytes.NewReader(body))
	r.Header.Set("Content-Type", "text/plain; charset=UTF-8") // what SNS sends
	r.Header.Set("X-Amz-Sns-Message-Type", "Notification")
	return r
}

func newParser(t testing.TB, aws *fakeAWS, opts ...ses.Option) *ses.Parser {
	t.Helper()
	p, err := ses.New(append([]ses.Option{ses.WithHTTPClient(aws.client()), ses.WithRoots(aws.sns.Roots()), ses.WithClock(clockAt(published))}, opts...)...)
	require.NoError(t, err)
	return p
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}
