package twilio_test

import (
	"errors"
	"fmt"
	"io"
	"net/url"

	"github.com/campaignconnector/campaignconnector/webhook"
	"github.com/campaignconnector/campaignconnector/webhook/twilio"
	"github.com/campaignconnector/campaignconnector/webhook/twilio/twiliotest"
)

// A parser behind a proxy, whose public URL Twilio signs, reading one
// status callback; and an option it cannot use. A host hands the parser to
// webhook.NewHandler instead of calling Parse.
func ExampleNew() {
	signer := twiliotest.NewSigner() // plays Twilio; signer.AuthToken is the account's auth token
	signer.BaseURL = "https://hooks.example.com"
	parser, err := twilio.New(signer.AuthToken, twilio.WithBaseURL("https://hooks.example.com"))
	if err != nil {
		panic(err)
	}

	// The status callback of an SMS sent with the StatusCallback URL
	// https://hooks.example.com/webhooks/twilio?campaign_id=promo&user_id=ann.
	req := signer.FormRequest("/webhooks/twilio?campaign_id=promo&user_id=ann",
		url.Values{"MessageSid": {"SM4c5e8f2a"}, "MessageStatus": {"delivered"}})
	body, _ := io.ReadAll(req.Body)
	events, err := parser.Parse(req, body)
	fmt.Println(err)
	for _, ev := range events {
		fmt.Println(ev.ID, ev.Kind, ev.CampaignID, ev.UserID)
	}

	_, err = twilio.New(signer.AuthToken, twilio.WithBaseURL("hooks.example.com"))
	fmt.Println(errors.Is(err, webhook.ErrInvalidOption))

	// Output:
	// <nil>
	// SM4c5e8f2a/delivered sms_received promo ann
	// true
}
