package mailgun_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/webhook"
	"github.com/campaignconnector/campaignconnector/webhook/mailgun"
	"github.com/campaignconnector/campaignconnector/webhook/mailgun/mailguntest"
	"github.com/stretchr/testify/require"
)

// TestPreviousKeyVerifiesRequestsSignedWithIt: while a key is rotated,
// a request signed with the old key passes with WithPreviousKey, and is
// refused (401) without it; one signed with the new key passes either way.
func TestPreviousKeyVerifiesRequestsSignedWithIt(t *testing.T) {
	oldKey := &mailguntest.Signer{Key: "key-3ax6xnjp29jd6fds4gc373sgvjxteol0"}
	data := fixture(t, "opened.json")

	without := newParser(t)
	body := oldKey.Body(data, now)
	_, err := without.Parse(request(body), body)
	require.ErrorIs(t, err, webhook.ErrSignature)
	require.EqualError(t, err, "mailgun: webhook: signature check failed: signature does not match the key",
		"without previous keys, the error reads as it always has")

	with := newParser(t, mailgun.WithPreviousKey(oldKey.Key))
	for name, s := range map[string]*mailguntest.Signer{"old key": oldKey, "new key": signer} {
		t.Run(name, func(t *testing.T) {
			body := s.Body(data, now)
			got, err := with.Parse(request(body), body)
			require.NoError(t, err)
			require.Len(t, got, 1)
		})
	}

	body = mailguntest.NewSigner().Body(data, now)
	_, err = with.Parse(request(body), body)
	require.ErrorIs(t, err, webhook.ErrSignature)
	require.EqualError(t, err, "mailgun: webhook: signature check failed: signature does not match the key (the current key and 1 previous tried)")

	// Through the handler: the old key's request is answered 401 without
	// the option, 200 with it.
	for _, tc := range []struct {
		parser *mailgun.Parser
		want   int
	}{{without, http.StatusUnauthorized}, {newParser(t, mailgun.WithPreviousKey(oldKey.Key)), http.StatusOK}} {
		h, err := webhook.NewHandler(tc.parser, webhook.TrackerFunc(func(context.Context, event.Event) error { return nil }))
		require.NoError(t, err)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, oldKey.Request("/webhooks/mailgun", data, now))
		require.Equal(t, tc.want, w.Code, w.Body.String())
	}
}

// TestTokenIsUsedOnceAcrossKeys: a token signed with one key and replayed
// signed with the other is refused, either way round.
func TestTokenIsUsedOnceAcrossKeys(t *testing.T) {
	oldKey := mailguntest.NewSigner()
	data := string(fixture(t, "opened.json"))
	for name, keys := range map[string][2]*mailguntest.Signer{
		"old key first": {oldKey, signer},
		"new key first": {signer, oldKey},
	} {
		t.Run(name, func(t *testing.T) {
			p := newParser(t, mailgun.WithPreviousKey(oldKey.Key))
			sig := keys[0].Signature(now)
			first := envelope(t, sig, data)
			_, err := p.Parse(request(first), first)
			require.NoError(t, err)

			sig.Signature = keys[1].Sign(sig.Timestamp, sig.Token)
			again := envelope(t, sig, data)
			_, err = p.Parse(request(again), again)
			require.ErrorIs(t, err, webhook.ErrSignature)
			require.ErrorContains(t, err, "token already used")
		})
	}
}

// TestWithPreviousKeySaysWhatIsWrong: a previous key New would refuse gets
// New's error, naming it as the previous key; the key given to New, a key
// given twice and a fifth key are refused.
func TestWithPreviousKeySaysWhatIsWrong(t *testing.T) {
	other := mailguntest.NewSigner().Key
	five := make([]mailgun.Option, 5)
	for i := range five {
		five[i] = mailgun.WithPreviousKey(mailguntest.NewSigner().Key)
	}
	tests := []struct {
		name string
		opts []mailgun.Option
		want string
	}{
		{"empty", []mailgun.Option{mailgun.WithPreviousKey("")},
			"mailgun: empty previous signing key: pass the HTTP webhook signing key (Settings → API Security)"},
		{"with a trailing newline", []mailgun.Option{mailgun.WithPreviousKey(other + "\n")},
			"mailgun: previous signing key has white space at its start or end (a newline read from a file?): pass the key exactly as Mailgun shows it"},
		{"the current key", []mailgun.Option{mailgun.WithPreviousKey(signer.Key)},
			"mailgun: previous signing key is the one given to New: give WithPreviousKey the key being rotated out"},
		{"a key given twice", []mailgun.Option{mailgun.WithPreviousKey(other), mailgun.WithPreviousKey(other)},
			"mailgun: previous signing key given twice"},
		{"five keys", five, "mailgun: more than 4 previous signing keys"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := mailgun.New(signer.Key, tc.opts...)
			require.EqualError(t, err, tc.want)
			require.ErrorIs(t, err, webhook.ErrInvalidOption)
			require.Nil(t, p)
		})
	}
	_, err := mailgun.New(signer.Key, five[:4]...)
	require.NoError(t, err, "four previous keys are allowed")
}
