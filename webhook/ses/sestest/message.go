package sestest

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/webhook/ses"
)

// Message is an SNS message as SNS posts it to an HTTPS subscriber; the
// JSON field names are SNS's.
type Message struct {
	Type             string `json:"Type"`                     // ses.TypeNotification, ses.TypeSubscriptionConfirmation…
	MessageID        string `json:"MessageId"`                // the parser's event ID for a notification
	Token            string `json:"Token,omitempty"`          // confirmations only
	TopicArn         string `json:"TopicArn"`                 // the topic SES publishes to
	Subject          string `json:"Subject,omitempty"`        // notifications only, when set
	Message          string `json:"Message"`                  // the SES event's JSON, for a notification
	SubscribeURL     string `json:"SubscribeURL,omitempty"`   // confirmations only
	UnsubscribeURL   string `json:"UnsubscribeURL,omitempty"` // notifications only
	Timestamp        string `json:"Timestamp"`                // when SNS published it, RFC 3339 in milliseconds
	SignatureVersion string `json:"SignatureVersion"`         // "1" (SHA-1) or "2" (SHA-256)
	Signature        string `json:"Signature"`                // base64 RSA signature, set by Sign
	SigningCertURL   string `json:"SigningCertURL"`           // where the parser fetches the certificate
}

// Notification returns the notification SNS posts for an SES event
// published to topicArn: sesEvent (the SES event's JSON) as its Message,
// and a random MessageId, which the parser makes the event's ID. Set
// MessageID for an ID of the test's choosing.
func (s *SNS) Notification(topicArn string, sesEvent []byte) Message {
	return Message{
		Type:      ses.TypeNotification,
		MessageID: uuid(),
		TopicArn:  topicArn,
		Message:   string(sesEvent),
		UnsubscribeURL: endpoint(topicArn) + "/?Action=Unsubscribe&SubscriptionArn=" +
			url.QueryEscape(topicArn+":"+uuid()),
	}
}

// SubscriptionConfirmation returns the message SNS posts when the endpoint
// is subscribed to topicArn: a random Token, and a SubscribeURL that s's
// transport answers (it records the topic, see [SNS.Confirmed]).
func (s *SNS) SubscriptionConfirmation(topicArn string) Message {
	token := hex.EncodeToString(randomBytes(64))
	return Message{
		Type:      ses.TypeSubscriptionConfirmation,
		MessageID: uuid(),
		Token:     token,
		TopicArn:  topicArn,
		Message: "You have chosen to subscribe to the topic " + topicArn +
			".\nTo confirm the subscription, visit the SubscribeURL included in this message.",
		SubscribeURL: endpoint(topicArn) + "/?Action=ConfirmSubscription&TopicArn=" +
			url.QueryEscape(topicArn) + "&Token=" + token,
	}
}

// Sign returns m signed with s's key, as SNS signs it. Empty fields get
// SNS's values first: Type Notification, a random MessageId, the time of
// the call on the system clock as Timestamp, SignatureVersion "2" (RSA with SHA-256; "1" signs
// with SHA-1) and [SNS.CertURL] as SigningCertURL. The signature covers
// Message, MessageId, Subject (when not empty), Timestamp, TopicArn and
// Type for a notification, and Message, MessageId, SubscribeURL,
// Timestamp, Token, TopicArn and Type for the other types, each field as
// its name, a newline, its value and a newline.
func (s *SNS) Sign(t testing.TB, m Message) Message {
	t.Helper()
	if m.Type == "" {
		m.Type = ses.TypeNotification
	}
	if m.MessageID == "" {
		m.MessageID = uuid()
	}
	if m.Timestamp == "" {
		m.Timestamp = time.Now().UTC().Format("2006-01-02T15:04:05.000Z")
	}
	if m.SignatureVersion == "" {
		m.SignatureVersion = "2"
	}
	if m.SigningCertURL == "" {
		m.SigningCertURL = s.certURL
	}
	var b strings.Builder
	add := func(name, value string) {
		b.WriteString(name + "\n" + value + "\n")
	}
	add("Message", m.Message)
	add("MessageId", m.MessageID)
	if m.Type == ses.TypeNotification {
		if m.Subject != "" {
			add("Subject", m.Subject)
		}
	} else {
		add("SubscribeURL", m.SubscribeURL)
	}
	add("Timestamp", m.Timestamp)
	if m.Type != ses.TypeNotification {
		add("Token", m.Token)
	}
	add("TopicArn", m.TopicArn)
	add("Type", m.Type)

	h, digest := crypto.SHA256, sha256Sum(b.String())
	if m.SignatureVersion == "1" {
		h, digest = crypto.SHA1, sha1Sum(b.String())
	}
	sig, err := rsa.SignPKCS1v15(rand.Reader, s.key, h, digest)
	if err != nil {
		t.Fatalf("sestest: signing: %v", err)
	}
	m.Signature = base64.StdEncoding.EncodeToString(sig)
	return m
}

// Body returns the JSON body SNS posts for m, signed by [SNS.Sign].
func (s *SNS) Body(t testing.TB, m Message) []byte {
	t.Helper()
	b, err := json.Marshal(s.Sign(t, m))
	if err != nil {
		t.Fatalf("sestest: encoding the message: %v", err)
	}
	return b
}

// Request returns a POST of m, signed by [SNS.Sign], to target, with the
// headers SNS sends, for a handler's ServeHTTP. target is a path
// ("/webhooks/ses") or an absolute URL, as httptest.NewRequest takes it.
func (s *SNS) Request(t testing.TB, target string, m Message) *http.Request {
	t.Helper()
	m = s.Sign(t, m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatalf("sestest: encoding the message: %v", err)
	}
	r := httptest.NewRequest(http.MethodPost, target, bytes.NewReader(b))
	r.Header.Set("Content-Type", "text/plain; charset=UTF-8")
	r.Header.Set("X-Amz-Sns-Message-Type", m.Type)
	r.Header.Set("X-Amz-Sns-Message-Id", m.MessageID)
	r.Header.Set("X-Amz-Sns-Topic-Arn", m.TopicArn)
	r.Header.Set("User-Agent", "Amazon Simple Notification Service Agent")
	return r
}

// endpoint returns the SNS endpoint of a topic's region
// (arn:aws:sns:<region>:<account>:<name>): https://sns.<region>.amazonaws.com,
// .amazonaws.com.cn in China, us-east-1 when the ARN names no region.
func endpoint(topicArn string) string {
	region := "us-east-1"
	if parts := strings.Split(topicArn, ":"); len(parts) == 6 && parts[3] != "" {
		region = parts[3]
	}
	if strings.HasPrefix(region, "cn-") {
		return "https://sns." + region + ".amazonaws.com.cn"
	}
	return "https://sns." + region + ".amazonaws.com"
}

// uuid returns a random version 4 UUID, the shape of SNS's message ids.
func uuid() string {
	b := randomBytes(16)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func sha1Sum(s string) []byte   { x := sha1.Sum([]byte(s)); return x[:] }
func sha256Sum(s string) []byte { x := sha256.Sum256([]byte(s)); return x[:] }
