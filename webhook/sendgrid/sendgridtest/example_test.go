package sendgridtest_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/webhook"
	"github.com/campaignconnector/campaignconnector/webhook/sendgrid"
	"github.com/campaignconnector/campaignconnector/webhook/sendgrid/sendgridtest"
)

// A host's test of its SendGrid endpoint: the signer plays SendGrid, the
// handler is the host's own, and the tracker records what reaches the
// engine (in a host's test, the tracker is its engine).
func Example() {
	// Needed only in an example: in a test, t is the test's *testing.T.
	t := &testing.T{}

	signer := sendgridtest.NewSigner(t)
	parser, err := sendgrid.New(signer.VerificationKey())
	if err != nil {
		panic(err)
	}
	var tracked []event.Event
	handler, err := webhook.NewHandler(parser, webhook.TrackerFunc(func(_ context.Context, ev event.Event) error {
		tracked = append(tracked, ev)
		return nil
	}))
	if err != nil {
		panic(err)
	}

	body := []byte(`[
		{"event":"delivered","sg_event_id":"sg-1","timestamp":1767603600,"campaign_id":"newsletter","user_id":"ann"},
		{"event":"open","sg_event_id":"sg-2","timestamp":1767690000,"campaign_id":"newsletter","user_id":"ann"}
	]`)
	w := httptest.NewRecorder()
	handler.ServeHTTP(w, signer.Request(t, "/webhooks/sendgrid", body, time.Unix(1767690005, 0)))

	fmt.Print(w.Code, " ", w.Body.String())
	for _, ev := range tracked {
		fmt.Println(ev.ID, ev.Kind, ev.CampaignID, ev.UserID, ev.Time.Format(time.RFC3339))
	}

	// A request signed with another key is refused.
	w = httptest.NewRecorder()
	handler.ServeHTTP(w, sendgridtest.NewSigner(t).Request(t, "/webhooks/sendgrid", body, time.Unix(1767690005, 0)))
	fmt.Print(w.Code, " ", w.Body.String())

	// Output:
	// 200 {"tracked":2}
	// sg-1 email_received newsletter ann 2026-01-05T09:00:00Z
	// sg-2 email_opened newsletter ann 2026-01-06T09:00:00Z
	// 401 {"tracked":0,"error":"signature check failed"}
}
