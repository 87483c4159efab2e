package sendgrid_test

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

// A SendGrid batch through the handler: "processed" is not an interaction
// and is skipped. In a real host the tracker is the engine
// (*connector.Engine); here it prints what it gets.
func Example() {
	// SendGrid's side, played by sendgridtest: a key pair, whose public
	// half the console shows as the verification key, and a signed batch.
	t := &testing.T{} // needed only in an example: in a test, the test's *testing.T
	sg := sendgridtest.NewSigner(t)
	body := []byte(`[
		{"event":"processed","sg_event_id":"sg-0","timestamp":1767603590,"campaign_id":"newsletter","user_id":"ann"},
		{"event":"delivered","sg_event_id":"sg-1","timestamp":1767603600,"campaign_id":"newsletter","user_id":"ann"},
		{"event":"open","sg_event_id":"sg-2","timestamp":1767690000,"campaign_id":"newsletter","user_id":"ann"}
	]`)
	req := sg.Request(t, "/webhooks/sendgrid", body, time.Unix(1767690005, 0))

	// The host's side.
	parser, err := sendgrid.New(sg.VerificationKey())
	if err != nil {
		panic(err)
	}
	handler, err := webhook.NewHandler(parser, webhook.TrackerFunc(func(_ context.Context, ev event.Event) error {
		fmt.Println(ev.ID, ev.Kind, ev.CampaignID, ev.UserID, ev.Time.Format(time.RFC3339))
		return nil
	}))
	if err != nil {
		panic(err)
	}
	w := httptest.NewRecorder()
	handler.ServeHTTP(w, req)
	fmt.Print(w.Code, " ", w.Body.String())
	// Output:
	// sg-1 email_received newsletter ann 2026-01-05T09:00:00Z
	// sg-2 email_opened newsletter ann 2026-01-06T09:00:00Z
	// 200 {"tracked":2}
}

// While the verification key is rotated, SendGrid signs some requests with
// the old key and some with the new: the parser takes the new key as its
// key and the old one as a previous key, and accepts both until the old
// one is removed.
func ExampleWithPreviousKey() {
	t := &testing.T{} // needed only in an example: in a test, the test's *testing.T
	oldKey, newKey := sendgridtest.NewSigner(t), sendgridtest.NewSigner(t)
	body := []byte(`[{"event":"open","sg_event_id":"sg-2","timestamp":1767690000,"campaign_id":"newsletter","user_id":"ann"}]`)
	at := time.Unix(1767690005, 0)

	parser, err := sendgrid.New(newKey.VerificationKey(), sendgrid.WithPreviousKey(oldKey.VerificationKey()))
	if err != nil {
		panic(err)
	}
	fmt.Println("new key:", parser.Verify(newKey.Request(t, "/webhooks/sendgrid", body, at), body))
	fmt.Println("old key:", parser.Verify(oldKey.Request(t, "/webhooks/sendgrid", body, at), body))

	// Once SendGrid signs with the new key alone, the old one goes.
	parser, err = sendgrid.New(newKey.VerificationKey())
	if err != nil {
		panic(err)
	}
	fmt.Println("old key, removed:", parser.Verify(oldKey.Request(t, "/webhooks/sendgrid", body, at), body))
	// Output:
	// new key: <nil>
	// old key: <nil>
	// old key, removed: sendgrid: webhook: signature check failed: signature does not match the body and key
}
