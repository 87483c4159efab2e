package sestest_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/webhook"
	"github.com/campaignconnector/campaignconnector/webhook/ses"
	"github.com/campaignconnector/campaignconnector/webhook/ses/sestest"
)

// A host's test of its SES endpoint: the SNS plays AWS (its client serves
// the signing certificate to the parser, its root pool vouches for it),
// the handler is the host's own, and the tracker records what reaches the
// engine (in a host's test, the tracker is its engine).
func Example() {
	// Needed only in an example: in a test, t is the test's *testing.T.
	t := &testing.T{}

	const topic = "arn:aws:sns:us-east-1:123456789012:ses-events"
	sns := sestest.New(t)
	parser, err := ses.New(append(sns.Options(), ses.WithTopics(topic), ses.WithAutoConfirm())...)
	if err != nil {
		panic(err)
	}
	var tracked []event.Event
	handler, err := webhook.NewHandler(parser,
		webhook.TrackerFunc(func(_ context.Context, ev event.Event) error {
			tracked = append(tracked, ev)
			return nil
		}),
		webhook.WithErrorFunc(func(_ *http.Request, err error) {
			var c *ses.Confirmation
			if errors.As(err, &c) {
				fmt.Println("subscription confirmed:", c.Confirmed)
			}
		}))
	if err != nil {
		panic(err)
	}
	post := func(m sestest.Message) {
		w := httptest.NewRecorder()
		handler.ServeHTTP(w, sns.Request(t, "/webhooks/ses", m))
		fmt.Print(w.Code, " ", w.Body.String())
	}

	// SNS first asks the endpoint to confirm the subscription.
	post(sns.SubscriptionConfirmation(topic))
	fmt.Println("confirmed at SNS:", sns.Confirmed())

	// Then it delivers the SES events.
	open := sns.Notification(topic, []byte(`{"eventType":"Open",
		"mail":{"timestamp":"2026-01-05T09:00:00.000Z","tags":{"campaign_id":["newsletter"],"user_id":["ann"]}},
		"open":{"timestamp":"2026-01-06T09:00:00.000Z"}}`))
	open.MessageID = "sns-1" // the event's ID; random unless set
	post(open)
	for _, ev := range tracked {
		fmt.Println(ev.ID, ev.Kind, ev.CampaignID, ev.UserID, ev.Time.Format(time.RFC3339))
	}

	// A message signed by anyone else is refused.
	forger := sestest.New(t)
	w := httptest.NewRecorder()
	handler.ServeHTTP(w, forger.Request(t, "/webhooks/ses", open))
	fmt.Print(w.Code, " ", w.Body.String())

	// Output:
	// subscription confirmed: true
	// 200 {"tracked":0}
	// confirmed at SNS: [arn:aws:sns:us-east-1:123456789012:ses-events]
	// 200 {"tracked":1}
	// sns-1 email_opened newsletter ann 2026-01-06T09:00:00Z
	// 401 {"tracked":0,"error":"signature check failed"}
}
