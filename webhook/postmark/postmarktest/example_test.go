package postmarktest_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/webhook"
	"github.com/campaignconnector/campaignconnector/webhook/postmark"
	"github.com/campaignconnector/campaignconnector/webhook/postmark/postmarktest"
)

// A host's test of its Postmark endpoint: the credentials play Postmark's
// webhook settings, the handler is the host's own, and the tracker records
// what reaches the engine (in a host's test, the tracker is its engine).
func Example() {
	creds := postmarktest.NewCredentials()
	parser, err := postmark.New(creds.Options()...)
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

	opened := []byte(`{"RecordType":"Open","MessageID":"883953f4","ReceivedAt":"2026-01-06T09:00:00Z",
		"Metadata":{"campaign_id":"newsletter","user_id":"ann"}}`)
	w := httptest.NewRecorder()
	handler.ServeHTTP(w, creds.Request("/webhooks/postmark", opened))
	fmt.Print(w.Code, " ", w.Body.String())
	for _, ev := range tracked {
		fmt.Println(ev.ID, ev.Kind, ev.CampaignID, ev.UserID, ev.Time.Format(time.RFC3339))
	}

	// A request with a guessed password is refused.
	guess := creds
	guess.Password = "a guess"
	w = httptest.NewRecorder()
	handler.ServeHTTP(w, guess.Request("/webhooks/postmark", opened))
	fmt.Print(w.Code, " ", w.Body.String())

	// Output:
	// 200 {"tracked":1}
	// 883953f4/open/2026-01-06T09:00:00Z email_opened newsletter ann 2026-01-06T09:00:00Z
	// 401 {"tracked":0,"error":"signature check failed"}
}
