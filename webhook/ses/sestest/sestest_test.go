package sestest_test

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"testing"

	"github.com/campaignconnector/campaignconnector/webhook/ses"
	"github.com/campaignconnector/campaignconnector/webhook/ses/sestest"
	"github.com/stretchr/testify/require"
)

const topic = "arn:aws:sns:eu-west-1:123456789012:ses-events"

// TestSignFollowsSNSsScheme checks the signature against the text AWS
// documents, written out here field by field, and verified with the
// standard library and the certificate the SNS serves.
func TestSignFollowsSNSsScheme(t *testing.T) {
	s := sestest.New(t)
	key := servedKey(t, s)
	tests := []struct {
		name   string
		msg    sestest.Message
		signed string
	}{
		{"notification, version 2", sestest.Message{Type: "Notification", MessageID: "m-1", TopicArn: topic,
			Message: `{"eventType":"Open"}`, Timestamp: "2026-01-06T09:00:00.000Z", SignatureVersion: "2"},
			"Message\n{\"eventType\":\"Open\"}\nMessageId\nm-1\nTimestamp\n2026-01-06T09:00:00.000Z\nTopicArn\n" + topic + "\nType\nNotification\n"},
		{"notification with a subject, version 1", sestest.Message{Type: "Notification", MessageID: "m-2", TopicArn: topic,
			Subject: "Hello", Message: "hi", Timestamp: "2026-01-06T09:00:00.000Z", SignatureVersion: "1"},
			"Message\nhi\nMessageId\nm-2\nSubject\nHello\nTimestamp\n2026-01-06T09:00:00.000Z\nTopicArn\n" + topic + "\nType\nNotification\n"},
		{"subscription confirmation", sestest.Message{Type: "SubscriptionConfirmation", MessageID: "m-3", TopicArn: topic, Token: "tok",
			Message: "confirm", SubscribeURL: "https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription", Timestamp: "2026-01-06T09:00:00.000Z",
			SignatureVersion: "2"},
			"Message\nconfirm\nMessageId\nm-3\nSubscribeURL\nhttps://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription\nTimestamp\n2026-01-06T09:00:00.000Z\nToken\ntok\nTopicArn\n" + topic + "\nType\nSubscriptionConfirmation\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := s.Sign(t, tc.msg)
			require.Equal(t, s.CertURL(), m.SigningCertURL)
			sig, err := base64.StdEncoding.DecodeString(m.Signature)
			require.NoError(t, err)
			h, digest := crypto.SHA256, sha256.Sum256([]byte(tc.signed))
			d := digest[:]
			if tc.msg.SignatureVersion == "1" {
				h = crypto.SHA1
				sum := sha1.Sum([]byte(tc.signed))
				d = sum[:]
			}
			require.NoError(t, rsa.VerifyPKCS1v15(key, h, d, sig))
		})
	}
}

// servedKey fetches s's signing certificate as a parser does, checks that
// it chains to s's roots through the intermediate s serves, and returns
// its key.
func servedKey(t *testing.T, s *sestest.SNS) *rsa.PublicKey {
	t.Helper()
	get := func(u string) []byte {
		resp, err := s.Client().Get(u)
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, u)
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return b
	}
	block, _ := pem.Decode(get(s.CertURL()))
	require.NotNil(t, block)
	leaf, err := x509.ParseCertificate(block.Bytes)
	require.NoError(t, err)
	require.Equal(t, []string{sestest.IssuerURL}, leaf.IssuingCertificateURL)
	inter, err := x509.ParseCertificate(get(sestest.IssuerURL))
	require.NoError(t, err)
	pool := x509.NewCertPool()
	pool.AddCert(inter)
	_, err = leaf.Verify(x509.VerifyOptions{Roots: s.Roots(), Intermediates: pool, DNSName: "sns.amazonaws.com"})
	require.NoError(t, err)
	return leaf.PublicKey.(*rsa.PublicKey)
}

func TestSignFillsWhatSNSSets(t *testing.T) {
	s := sestest.New(t)
	m := s.Sign(t, sestest.Message{TopicArn: topic, Message: "{}"})
	require.Equal(t, ses.TypeNotification, m.Type)
	require.Regexp(t, `^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`, m.MessageID)
	require.Regexp(t, `^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`, m.Timestamp)
	require.Equal(t, "2", m.SignatureVersion)
	require.Regexp(t, `^https://sns\.us-east-1\.amazonaws\.com/SimpleNotificationService-[0-9a-f]{32}\.pem$`, m.SigningCertURL)
	require.NotEqual(t, m.MessageID, s.Sign(t, sestest.Message{TopicArn: topic}).MessageID)
}

func TestRequestCarriesWhatSNSSends(t *testing.T) {
	s := sestest.New(t)
	n := s.Notification(topic, []byte(`{"eventType":"Delivery"}`))
	r := s.Request(t, "https://hooks.example.com/webhooks/ses", n)
	require.Equal(t, http.MethodPost, r.Method)
	require.Equal(t, "/webhooks/ses", r.URL.Path)
	require.Equal(t, "text/plain; charset=UTF-8", r.Header.Get("Content-Type"))
	require.Equal(t, "Notification", r.Header.Get("X-Amz-Sns-Message-Type"))
	require.Equal(t, topic, r.Header.Get("X-Amz-Sns-Topic-Arn"))
	require.Equal(t, n.MessageID, r.Header.Get("X-Amz-Sns-Message-Id"))
	var got sestest.Message
	require.NoError(t, json.NewDecoder(r.Body).Decode(&got))
	require.Equal(t, n.Message, got.Message)
	require.Equal(t, s.Sign(t, got).Signature, got.Signature, "the body is the signed message")
	require.Equal(t, "https://sns.eu-west-1.amazonaws.com", n.UnsubscribeURL[:len("https://sns.eu-west-1.amazonaws.com")])
}

func TestSubscriptionConfirmationIsAnsweredAndRecorded(t *testing.T) {
	s := sestest.New(t)
	for _, arn := range []string{topic, "arn:aws-cn:sns:cn-north-1:123456789012:ses-events"} {
		m := s.SubscriptionConfirmation(arn)
		require.Len(t, m.Token, 128)
		c := &ses.Confirmation{Type: m.Type, TopicArn: arn, Token: m.Token, SubscribeURL: m.SubscribeURL}
		require.NoError(t, c.Confirm(context.Background(), s.Client()), m.SubscribeURL)
	}
	require.Equal(t, []string{topic, "arn:aws-cn:sns:cn-north-1:123456789012:ses-events"}, s.Confirmed())
}

func TestTransportAnswersNothingElse(t *testing.T) {
	s := sestest.New(t)
	for _, u := range []string{
		"https://example.com/cert.pem",
		"http://sns.us-east-1.amazonaws.com/cert.pem",
		"https://sns.us-east-1.amazonaws.com/",
		"https://example.com/?Action=ConfirmSubscription&TopicArn=" + topic,
	} {
		resp, err := s.Client().Get(u)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusNotFound, resp.StatusCode, u)
	}
	require.Empty(t, s.Confirmed())
}

func TestSNSAliveTogetherHaveTheirOwnKeys(t *testing.T) {
	a, b := sestest.New(t), sestest.New(t)
	require.False(t, a.Key().Equal(b.Key()))
	require.NotEqual(t, a.CertURL(), b.CertURL())
}

func TestKeysAreReusedOnceTheirTestEnds(t *testing.T) {
	var first, next *rsa.PrivateKey
	t.Run("first", func(t *testing.T) { first = sestest.New(t).Key() })
	t.Run("next", func(t *testing.T) { next = sestest.New(t).Key() })
	require.True(t, first.Equal(next), "the key of an ended test is used again")
}
