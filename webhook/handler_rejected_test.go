package webhook_test

import (
	"context"
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
	"github.com/campaignconnector/campaignconnector/webhook/sendgrid/sendgridtest"
	"github.com/stretchr/testify/require"
)

// A SendGrid batch whose first item is skipped (not an interaction), whose
// third cannot become an event (no user ID), and whose fourth names a
// user no store can keep (a NUL byte, which JSON writes as \u0000).
const poisonBatch = `[
	{"event":"processed","sg_event_id":"sg-processed","timestamp":1767603600,"campaign_id":"newsletter","user_id":"ann"},
	{"event":"delivered","sg_event_id":"sg-ann","timestamp":1767603600,"campaign_id":"newsletter","user_id":"ann"},
	{"event":"delivered","sg_event_id":"sg-nouser","timestamp":1767603600,"campaign_id":"newsletter"},
	{"event":"delivered","sg_event_id":"sg-bad","timestamp":1767603600,"campaign_id":"newsletter","user_id":"b\u0000b"},
	{"event":"delivered","sg_event_id":"sg-cleo","timestamp":1767603600,"campaign_id":"newsletter","user_id":"cleo"}
]`

// TestHandlerListsEventsTheEngineRejects: a signed batch with one event
// the engine rejects (a user ID no store can keep) gets 200, lists that
// event among the items that could not become events, under its item's
// position in the batch and named after the provider as the parser's own
// items are, and tracks the others, whether the handler hands the engine
// the batch or each event.
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
			signer := sendgridtest.NewSigner(t)
			p, err := sendgrid.New(signer.VerificationKey())
			require.NoError(t, err)
			r := signer.Request(t, "/webhooks/sendgrid", []byte(poisonBatch), clk.Now())
			h, err := webhook.NewHandler(p, tracker, webhook.WithErrorFunc(func(_ *http.Request, err error) { reported = err }))
			require.NoError(t, err)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)

			require.Equal(t, http.StatusOK, w.Code, w.Body.String())
			var resp webhook.Response
			require.NoError(t, json.Unmarshal(w.Body.Bytes(), &resp))
			require.Equal(t, 2, resp.Tracked)
			require.Len(t, resp.Errors, 2)
			require.Equal(t, webhook.ResponseError{Index: 2, ID: "sg-nouser",
				Error: `sendgrid: item 2 (id "sg-nouser"): webhook: campaign or user id missing: no "user_id"`}, resp.Errors[0])
			require.Equal(t, 3, resp.Errors[1].Index, "the rejected event's position in the batch")
			require.Equal(t, "sg-bad", resp.Errors[1].ID)
			require.Equal(t, `sendgrid: item 3 (id "sg-bad"): event: user_id: holds a NUL byte at byte 1 (no store can hold this value)`,
				resp.Errors[1].Error, "named after the provider as the parser's own items are")
			require.ErrorIs(t, reported, event.ErrUnstorable)
			items := webhook.ItemErrors(reported)
			require.Len(t, items, 2)
			require.Equal(t, 3, items[1].Index)
			require.Equal(t, "sg-bad", items[1].ProviderEventID)
			require.Equal(t, "sendgrid", items[1].Provider)
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
