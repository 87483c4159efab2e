package ses_test

import (
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/campaignconnector/campaignconnector/webhook"
	"github.com/campaignconnector/campaignconnector/webhook/ses"
	"github.com/campaignconnector/campaignconnector/webhook/ses/sestest"
)

// A parser that accepts the notifications of one SNS topic only, reading
// one of them; and options that do not go together. A host hands the
// parser to webhook.NewHandler instead of calling Parse, and leaves out
// sns.Options(), which make the parser trust the fake SNS below.
func ExampleNew() {
	t := &testing.T{} // needed only in an example: in a test, the test's *testing.T
	sns := sestest.New(t)

	const topic = "arn:aws:sns:us-east-1:123456789012:ses-events"
	parser, err := ses.New(append(sns.Options(), ses.WithTopics(topic))...)
	if err != nil {
		panic(err)
	}

	m := sns.Notification(topic, []byte(`{"eventType":"Delivery",
		"mail":{"timestamp":"2026-01-05T09:00:00.000Z","tags":{"campaign_id":["newsletter"],"user_id":["ann"]}},
		"delivery":{"timestamp":"2026-01-05T09:00:02.000Z"}}`))
	m.MessageID = "sns-1"
	req := sns.Request(t, "/webhooks/ses", m)
	body, _ := io.ReadAll(req.Body)
	events, err := parser.Parse(req, body)
	fmt.Println(err)
	for _, ev := range events {
		fmt.Println(ev.ID, ev.Kind, ev.CampaignID, ev.UserID)
	}

	_, err = ses.New(ses.WithAutoConfirm())
	fmt.Println(errors.Is(err, webhook.ErrInvalidOption), err)

	// Output:
	// <nil>
	// sns-1 email_received newsletter ann
	// true ses: WithAutoConfirm requires WithTopics: any AWS account can subscribe the endpoint to its topics
}
