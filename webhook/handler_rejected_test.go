package webhook_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/campaignconnector/campaignconnector/webhook"
	"github.com/campaignconnector/campaignconnector/webhook/sendgrid"
	"github.com/stretchr/testify/require"
)

// A SendGrid batch, signed, whose second item names a user no store can
// keep (a NUL byte, which JSON writes as \u0000) and whose third item has
// a property number no store can keep.
const poisonBatch = `[
	{"event":"delivered","sg_event_id":"sg-ann","timestamp":1767603600,"campaign_id":"newsletter","user_id":"ann"},
	{"event":"delivered","sg_event_id":"sg-bad","timestamp":1767603600,"campaign_id":"newsletter","user_id":"b\u0000b"},
	{"event":"delivered","sg_event_id":"sg-cleo","timestamp":1767603600,"campaign_id":"newsletter","user_id":"cleo"}
]`

// signedRequest signs body as SendGrid does and returns the parser that
// verifies it and the request.
func signedRequest(t *testing.T, body []byte) (*sendgrid.Parser, *http.Request) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	der, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	require.NoError(t, err)
	p, err := sendgrid.New(base64.StdEncoding.EncodeToString(der))
	require.NoError(t, err)
	const ts = "1767603605"
	sum := sha256.Sum256(append([]byte(ts), body...))
	sig, err := ecdsa.SignASN1(rand.Reader, priv, sum[:])
	require.NoError(t, err)
	r := httptest.NewRequest(http.MethodPost, "/webhooks/sendgrid", bytes.NewReader(body))
	r.Header.Set(sendgrid.SignatureHeader, base64.StdEncoding.EncodeToString(sig))
	r.Header.Set(sendgrid.TimestampHeader, ts)
	return p, r
}

// TestHandlerListsEventsTheEngineRejects: a signed batch with one event
// the engine rejects (a user ID no store can keep) gets 200, lists that
// event among the items that could not become events, and tracks the
// others, whether the handler hands the engine the batch or each event.
func TestHandlerListsEventsTheEngineRejects(t *testing.T) {
	ctx := context.Background()
	for _, batch := range []bool{true, false} {
		name := "TrackAll"
		if !batch {
			name = "Track"
		}
		t.Run(name, func(t *testing.T) {
			s := store.NewMemory()
			clk := clock.NewMock()
			clk.Set(time.Unix(1767600000, 0))
			e, err := connector.New(s, connector.SenderFunc(func(context.Context, connector.Delivery) error { return nil }),
				connector.WithClock(clk))
			require.NoError(t, err)
			require.NoError(t, e.Save(ctx, rule.Campaign{ID: "newsletter"}))
			require.NoError(t, e.Save(ctx, rule.Campaign{ID: "resend", Delay: rule.After(7 * 24 * time.Hour),
				Triggers: []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "newsletter"}}}))
			require.NoError(t, e.Publish(ctx, "resend"))
			require.NoError(t, e.Publish(ctx, "newsletter"))
			clk.Add(time.Hour)

			var tracker webhook.Tracker = e
			if !batch {
				tracker = webhook.TrackerFunc(e.Track)
			}
			var reported error
			p, r := signedRequest(t, []byte(poisonBatch))
			h, err := webhook.NewHandler(p, tracker, webhook.WithErrorFunc(func(_ *http.Request, err error) { reported = err }))
			require.NoError(t, err)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)

			require.Equal(t, http.StatusOK, w.Code, w.Body.String())
			var resp webhook.Response
			require.NoError(t, json.Unmarshal(w.Body.Bytes(), &resp))
			require.Equal(t, 2, resp.Tracked)
			require.Len(t, resp.Errors, 1)
			require.Equal(t, "sg-bad", resp.Errors[0].ID)
			require.Contains(t, resp.Errors[0].Error, "user_id")
			require.ErrorIs(t, reported, event.ErrUnstorable)
			items := webhook.ItemErrors(reported)
			require.Len(t, items, 1)
			require.Equal(t, "sg-bad", items[0].ProviderEventID)
			for _, user := range []string{"ann", "cleo"} {
				u, err := s.User(ctx, "", user)
				require.NoError(t, err, user)
				require.Len(t, u.Pending, 1, "%s waits for the resend", user)
			}
			_, err = s.User(ctx, "", "b\x00b")
			require.True(t, errors.Is(err, store.ErrNotFound), "the rejected user has no state: %v", err)
		})
	}
}
