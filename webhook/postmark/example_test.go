package postmark_test

import (
	"errors"
	"fmt"

	"github.com/campaignconnector/campaignconnector/webhook"
	"github.com/campaignconnector/campaignconnector/webhook/postmark"
	"github.com/campaignconnector/campaignconnector/webhook/postmark/postmarktest"
)

// A parser that requires the basic auth credentials set in Postmark's
// webhook settings, reading one request; and a parser with no
// authentication, which New refuses. A host hands the parser to
// webhook.NewHandler instead of calling Parse.
func ExampleNew() {
	creds := postmarktest.Credentials{User: "postmark", Password: "s3cret-from-the-settings"}
	parser, err := postmark.New(postmark.WithBasicAuth(creds.User, creds.Password))
	if err != nil {
		panic(err)
	}

	body := []byte(`{"RecordType":"Delivery","MessageID":"883953f4","DeliveredAt":"2026-01-05T09:00:00Z",
		"Metadata":{"campaign_id":"newsletter","user_id":"ann"}}`)
	events, err := parser.Parse(creds.Request("/webhooks/postmark", body), body)
	fmt.Println(err)
	for _, ev := range events {
		fmt.Println(ev.ID, ev.Kind, ev.CampaignID, ev.UserID)
	}

	_, err = postmark.New()
	fmt.Println(errors.Is(err, webhook.ErrInvalidOption))

	// Output:
	// <nil>
	// 883953f4/delivery email_received newsletter ann
	// true
}
