package twilio_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/webhook"
	"github.com/campaignconnector/campaignconnector/webhook/twilio"
	"github.com/campaignconnector/campaignconnector/webhook/twilio/twiliotest"
	"github.com/stretchr/testify/require"
)

// TestPreviousKeyVerifiesRequestsSignedWithIt: while the auth token is
// rotated, a callback signed with the old token passes with
// WithPreviousKey, and is refused (401) without it; one signed with the new
// token passes either way.
func TestPreviousKeyVerifiesRequestsSignedWithIt(t *testing.T) {
	oldToken := otherSigner()
	form := fixture(t, "status_delivered.form")
	click := fixture(t, "click.json")

	without := newParser(t)
	_, err := without.Parse(formRequest(t, oldToken, callback, form), form)
	require.ErrorIs(t, err, webhook.ErrSignature)
	require.EqualError(t, err, "twilio: webhook: signature check failed: signature does not match the URL, body and auth token "+
		"(URL checked: https://hooks.example.com/webhooks/twilio, query left out; behind a proxy, give the URL Twilio calls with WithBaseURL or WithURLFunc)",
		"without previous tokens, the error reads as it always has")

	with := newParser(t, twilio.WithPreviousKey(oldToken.AuthToken))
	for name, s := range map[string]*twiliotest.Signer{"old token": oldToken, "new token": signer} {
		t.Run(name, func(t *testing.T) {
			got, err := with.Parse(formRequest(t, s, callback, form), form)
			require.NoError(t, err)
			require.Len(t, got, 1)
			got, err = with.Parse(s.JSONRequest(callback, click), click)
			require.NoError(t, err)
			require.Len(t, got, 1)
		})
	}

	_, err = with.Parse(formRequest(t, otherSigner(), callback, form), form)
	require.ErrorIs(t, err, webhook.ErrSignature)
	require.ErrorContains(t, err, "WithBaseURL or WithURLFunc) (the current auth token and 1 previous tried)")

	// Through the handler: the old token's callback is answered 401
	// without the option, 200 with it. Twilio does not retry it.
	for _, tc := range []struct {
		parser *twilio.Parser
		want   int
	}{{without, http.StatusUnauthorized}, {with, http.StatusOK}} {
		h, err := webhook.NewHandler(tc.parser, webhook.TrackerFunc(func(context.Context, event.Event) error { return nil }))
		require.NoError(t, err)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, formRequest(t, oldToken, callback, form))
		require.Equal(t, tc.want, w.Code, w.Body.String())
	}
}

// TestPreviousKeyVerifiesTwiliosPublishedVectors: the examples Twilio
// publishes with its helper libraries (auth token "12345") verify with
// that token given as a previous one, the URL's port variants included.
func TestPreviousKeyVerifiesTwiliosPublishedVectors(t *testing.T) {
	const vectorURL = "https://mycompany.com/myapp.php?foo=1&bar=2"
	params := "CallSid=CA1234567890ABCDE&Caller=%2B14158675309&Digits=1234&From=%2B14158675309&To=%2B18005551212"
	for name, tc := range map[string]struct{ url, signature string }{
		"form":                    {vectorURL, "RSOYDt4T1cUTdK1PDd93/VVr8B8="},
		"signed with the port":    {vectorURL, "kvajT1Ptam85bY51eRf/AJRuM3w="},
		"called with the port":    {strings.Replace(vectorURL, ".com", ".com:443", 1), "RSOYDt4T1cUTdK1PDd93/VVr8B8="},
		"http, signed with port":  {strings.Replace(vectorURL, "https", "http", 1), "0ZXoZLH/DfblKGATFgpif+LLRf4="},
		"https, called with port": {strings.Replace(vectorURL, ".com", ".com:443", 1), "kvajT1Ptam85bY51eRf/AJRuM3w="},
	} {
		t.Run(name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/myapp.php?foo=1&bar=2", strings.NewReader(params))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.Header.Set(twilio.SignatureHeader, tc.signature)
			publicURL := twilio.WithURLFunc(func(*http.Request) string { return tc.url })

			p, err := twilio.New(twiliotest.NewSigner().AuthToken, publicURL)
			require.NoError(t, err)
			require.ErrorIs(t, p.Verify(r, []byte(params)), webhook.ErrSignature)

			p, err = twilio.New(twiliotest.NewSigner().AuthToken, publicURL,
				twilio.WithPreviousKey(twiliotest.NewSigner().AuthToken), twilio.WithPreviousKey("12345"))
			require.NoError(t, err)
			require.NoError(t, p.Verify(r, []byte(params)))
			require.ErrorIs(t, p.Verify(r, []byte(params+"&x=1")), webhook.ErrSignature)
		})
	}
}

// TestWithPreviousKeySaysWhatIsWrong: a previous token New would refuse
// gets New's error, naming it as the previous token; the token given to
// New, a token given twice and a fifth token are refused.
func TestWithPreviousKeySaysWhatIsWrong(t *testing.T) {
	other := twiliotest.NewSigner().AuthToken
	five := make([]twilio.Option, 5)
	for i := range five {
		five[i] = twilio.WithPreviousKey(twiliotest.NewSigner().AuthToken)
	}
	tests := []struct {
		name string
		opts []twilio.Option
		want string
	}{
		{"empty", []twilio.Option{twilio.WithPreviousKey(" ")},
			"twilio: empty previous auth token: pass the account's auth token (Console → Account Info)"},
		{"with a trailing newline", []twilio.Option{twilio.WithPreviousKey(other + "\n")},
			"twilio: previous auth token has white space at its start or end (a newline read from a file?): pass the token exactly as Twilio shows it"},
		{"the current token", []twilio.Option{twilio.WithPreviousKey(signer.AuthToken)},
			"twilio: previous auth token is the one given to New: give WithPreviousKey the token being rotated out"},
		{"a token given twice", []twilio.Option{twilio.WithPreviousKey(other), twilio.WithPreviousKey(other)},
			"twilio: previous auth token given twice"},
		{"five tokens", five, "twilio: more than 4 previous auth tokens"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := twilio.New(signer.AuthToken, tc.opts...)
			require.EqualError(t, err, tc.want)
			require.ErrorIs(t, err, webhook.ErrInvalidOption)
			require.Nil(t, p)
		})
	}
	_, err := twilio.New(signer.AuthToken, five[:4]...)
	require.NoError(t, err, "four previous tokens are allowed")
}
