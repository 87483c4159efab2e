package twiliotest_test

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/campaignconnector/campaignconnector/webhook/twilio"
	"github.com/campaignconnector/campaignconnector/webhook/twilio/twiliotest"
	"github.com/stretchr/testify/require"
)

// TestSignMatchesPublishedVectors checks the signer against the examples
// Twilio publishes with its helper libraries (auth token "12345"), so that
// the signer and the parser cannot agree on a scheme Twilio does not use.
func TestSignMatchesPublishedVectors(t *testing.T) {
	const vectorURL = "https://mycompany.com/myapp.php?foo=1&bar=2"
	s := &twiliotest.Signer{AuthToken: "12345"}
	query := func(q string) url.Values {
		v, err := url.ParseQuery(q)
		require.NoError(t, err)
		return v
	}
	params := query("CallSid=CA1234567890ABCDE&Caller=%2B14158675309&Digits=1234&From=%2B14158675309&To=%2B18005551212")
	tests := []struct {
		name, url string
		params    url.Values
		want      string
	}{
		{"form", vectorURL, params, "RSOYDt4T1cUTdK1PDd93/VVr8B8="},
		{"repeated parameters", vectorURL, query("Sid=CA123&SidAccount=AC123&Digits=5678&Digits=1234&Digits=1234"), "IK+Dwps556ElfBT0I3Rgjkr1wJU="},
		{"JSON body", vectorURL + "&bodySHA256=0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620", nil, "a9nBmqA0ju/hNViExpshrM61xv4="},
		{"URL with the https port", strings.Replace(vectorURL, ".com", ".com:443", 1), params, "kvajT1Ptam85bY51eRf/AJRuM3w="},
		{"URL with the http port", strings.Replace(strings.Replace(vectorURL, "https", "http", 1), ".com", ".com:80", 1), params, "0ZXoZLH/DfblKGATFgpif+LLRf4="},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, s.Sign(tc.url, tc.params))
		})
	}
}

func TestRequestsSignTheURLTheParserSees(t *testing.T) {
	s := twiliotest.NewSigner()
	require.Len(t, s.AuthToken, 32)
	require.NotEqual(t, s.AuthToken, twiliotest.NewSigner().AuthToken, "each signer has a token of its own")
	form := url.Values{"MessageSid": {"SM1"}, "MessageStatus": {"delivered"}}

	r := s.FormRequest("/webhooks/twilio?campaign_id=promo&user_id=ann", form)
	require.Equal(t, http.MethodPost, r.Method)
	require.Equal(t, "application/x-www-form-urlencoded", r.Header.Get("Content-Type"))
	body, err := io.ReadAll(r.Body)
	require.NoError(t, err)
	require.Equal(t, form.Encode(), string(body))
	require.Equal(t, s.Sign("http://example.com/webhooks/twilio?campaign_id=promo&user_id=ann", form), r.Header.Get(twilio.SignatureHeader),
		"a path target is signed as httptest.NewRequest's URL")

	r = s.FormRequest("https://hooks.example.com/webhooks/twilio", form)
	require.Equal(t, s.Sign("https://hooks.example.com/webhooks/twilio", form), r.Header.Get(twilio.SignatureHeader))

	withBase := &twiliotest.Signer{AuthToken: s.AuthToken, BaseURL: "https://example.com/api/"}
	r = withBase.FormRequest("/webhooks/twilio?x=1", form)
	require.Equal(t, s.Sign("https://example.com/api/webhooks/twilio?x=1", form), r.Header.Get(twilio.SignatureHeader))

	click := []byte(`{"event_type":"click"}`)
	sum := sha256.Sum256(click)
	for target, signed := range map[string]string{
		"/webhooks/twilio":     "http://example.com/webhooks/twilio?bodySHA256=" + hex.EncodeToString(sum[:]),
		"/webhooks/twilio?a=b": "http://example.com/webhooks/twilio?a=b&bodySHA256=" + hex.EncodeToString(sum[:]),
	} {
		r = s.JSONRequest(target, click)
		require.Equal(t, "application/json", r.Header.Get("Content-Type"))
		require.Equal(t, s.Sign(signed, nil), r.Header.Get(twilio.SignatureHeader), target)
		got, err := io.ReadAll(r.Body)
		require.NoError(t, err)
		require.Equal(t, click, got)
	}
}
