package twiliotest_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"net/url"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/webhook"
	"github.com/campaignconnector/campaignconnector/webhook/twilio"
	"github.com/campaignconnector/campaignconnector/webhook/twilio/twiliotest"
)

// A host's test of its Twilio endpoint: the signer plays Twilio, the
// handler is the host's own, and the tracker records what reaches the
// engine (in a host's test, the tracker is its engine).
func Example() {
	signer := twiliotest.NewSigner()
	signer.BaseURL = "https://hooks.example.com" // the parser's public URL, below
	parser, err := twilio.New(signer.AuthToken, twilio.WithBaseURL(signer.BaseURL))
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

	// The status callback of an SMS sent with the StatusCallback URL
	// https://hooks.example.com/webhooks/twilio?campaign_id=promo&user_id=ann.
	delivered := url.Values{"MessageSid": {"SM4c5e8f2a"}, "MessageStatus": {"delivered"}}
	w := httptest.NewRecorder()
	handler.ServeHTTP(w, signer.FormRequest("/webhooks/twilio?campaign_id=promo&user_id=ann", delivered))
	fmt.Print(w.Code, " ", w.Body.String())

	// A click on a shortened link.
	click := []byte(`{"event_type":"click","sms_sid":"SM4c5e8f2a","click_time":"2026-01-05T09:10:00Z",
		"link":"https://shop.example.com/sale"}`)
	w = httptest.NewRecorder()
	handler.ServeHTTP(w, signer.JSONRequest("/webhooks/twilio?campaign_id=promo&user_id=ann", click))
	fmt.Print(w.Code, " ", w.Body.String())

	for _, ev := range tracked {
		fmt.Println(ev.ID, ev.Kind, ev.CampaignID, ev.UserID)
	}

	// A callback whose query was changed after signing is refused.
	forged := signer.FormRequest("/webhooks/twilio?campaign_id=promo&user_id=ann", delivered)
	forged.URL.RawQuery = "campaign_id=promo&user_id=eve"
	w = httptest.NewRecorder()
	handler.ServeHTTP(w, forged)
	fmt.Print(w.Code, " ", w.Body.String())

	// Output:
	// 200 {"tracked":1}
	// 200 {"tracked":1}
	// SM4c5e8f2a/delivered sms_received promo ann
	// SM4c5e8f2a/click/2026-01-05T09:10:00Z/2iznqzju6x3ah sms_link_clicked promo ann
	// 401 {"tracked":0,"error":"signature check failed"}
}
