package mailguntest_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/webhook/mailgun/mailguntest"
	"github.com/stretchr/testify/require"
)

// TestBodyFollowsMailgunsScheme checks the signer against the scheme as
// Mailgun documents it, with the standard library alone: the body's
// "signature" object holds the timestamp, a token, and the hex HMAC-SHA256
// of the two under the signing key; "event-data" is the event as given.
func TestBodyFollowsMailgunsScheme(t *testing.T) {
	s := &mailguntest.Signer{Key: "key-3ax6xnjp29jd6fds4gc373sgvjxteol0"}
	data := `{"event":"opened","id":"mg-1"}`
	r := s.Request("https://hooks.example.com/webhooks/mailgun", []byte(data), time.Unix(1767776400, 0))
	require.Equal(t, http.MethodPost, r.Method)
	require.Equal(t, "/webhooks/mailgun", r.URL.Path)
	require.Equal(t, "application/json", r.Header.Get("Content-Type"))
	body, err := io.ReadAll(r.Body)
	require.NoError(t, err)

	var got struct {
		Signature struct{ Timestamp, Token, Signature string }
		EventData json.RawMessage `json:"event-data"`
	}
	require.NoError(t, json.Unmarshal(body, &got))
	require.Equal(t, "1767776400", got.Signature.Timestamp)
	require.Len(t, got.Signature.Token, 50)
	mac := hmac.New(sha256.New, []byte(s.Key))
	mac.Write([]byte(got.Signature.Timestamp + got.Signature.Token))
	require.Equal(t, hex.EncodeToString(mac.Sum(nil)), got.Signature.Signature)
	require.JSONEq(t, data, string(got.EventData))
}

func TestEverySignatureHasItsOwnToken(t *testing.T) {
	s := mailguntest.NewSigner()
	at := time.Unix(1767776400, 0)
	seen := map[string]bool{}
	for range 100 {
		sig := s.Signature(at)
		require.False(t, seen[sig.Token], "token %s given twice", sig.Token)
		seen[sig.Token] = true
		require.Equal(t, s.Sign(sig.Timestamp, sig.Token), sig.Signature)
	}
	require.NotEqual(t, s.Key, mailguntest.NewSigner().Key, "each signer has a key of its own")
}

func TestBodyKeepsMalformedEventDataAndOmitsEmptyOnes(t *testing.T) {
	s := mailguntest.NewSigner()
	at := time.Unix(1767776400, 0)
	require.Contains(t, string(s.Body([]byte(`{"event":`), at)), `,"event-data":{"event":}`)
	var top map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(s.Body(nil, at), &top))
	require.NotContains(t, top, "event-data")
	require.Contains(t, top, "signature")
}
