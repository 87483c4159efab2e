package mailgun_test

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/campaignconnector/campaignconnector/webhook"
	"github.com/campaignconnector/campaignconnector/webhook/mailgun"
	"github.com/campaignconnector/campaignconnector/webhook/mailgun/mailguntest"
)

// A parser for an account whose messages carry the user id in the user
// variable "uid", reading one signed request; and an option it cannot use.
// A host hands the parser to webhook.NewHandler instead of calling Parse.
func ExampleNew() {
	now := time.Date(2026, time.January, 6, 9, 0, 5, 0, time.UTC)
	signer := mailguntest.NewSigner() // plays Mailgun; signer.Key is the account's signing key
	parser, err := mailgun.New(signer.Key,
		mailgun.WithMapping(webhook.Mapping{UserKey: "uid"}),
		mailgun.WithClock(clockAt(now))) // a host leaves the system clock
	if err != nil {
		panic(err)
	}

	req := signer.Request("/webhooks/mailgun", []byte(`{"event":"clicked","id":"mg-7","timestamp":1767690000,
		"url":"https://shop.example.com/sale","user-variables":{"campaign_id":"newsletter","uid":"ann"}}`), now)
	body, _ := io.ReadAll(req.Body)
	events, err := parser.Parse(req, body)
	fmt.Println(err)
	for _, ev := range events {
		fmt.Println(ev.ID, ev.Kind, ev.CampaignID, ev.UserID, ev.Properties["url"])
	}

	_, err = mailgun.New(signer.Key, mailgun.WithWindow(0))
	fmt.Println(errors.Is(err, webhook.ErrInvalidOption), err)

	// Output:
	// <nil>
	// mg-7 email_clicked newsletter ann https://shop.example.com/sale
	// true mailgun: replay window must be positive, got 0s
}
