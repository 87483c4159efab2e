package webhook_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/campaignconnector/campaignconnector/webhook"
	"github.com/campaignconnector/campaignconnector/webhook/postmark"
)

// A provider's webhook feeding the engine: Postmark reports deliveries and
// opens of the newsletter, the handler verifies and translates them, and
// the engine decides. The handler's status codes tell the provider what to
// retry: 401 for bad credentials, 200 when every event is tracked or could
// never be (listed in the body).
func ExampleNewHandler() {
	ctx := context.Background()
	clk := clock.NewMock() // a clock moved by hand: the output is deterministic
	clk.Set(time.Date(2026, time.January, 5, 9, 0, 0, 0, time.UTC))
	observe := connector.ObserverFunc(func(d rule.Decision) {
		fmt.Println(d.Kind, d.CampaignID, "for", d.UserID, "due", d.DueAt.Format(time.DateTime))
	})
	engine, err := connector.New(store.NewMemory(),
		connector.SenderFunc(func(context.Context, connector.Delivery) error { return nil }),
		connector.WithClock(clk), connector.WithObserver(observe))
	if err != nil {
		panic(err)
	}
	_ = engine.Save(ctx, rule.Campaign{ID: "newsletter"})
	_ = engine.Save(ctx, rule.Campaign{
		ID:         "resend",
		Triggers:   []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "newsletter"}},
		Delay:      rule.After(7 * 24 * time.Hour),
		Exceptions: []rule.Exception{{Kind: event.EmailOpened, CampaignID: "newsletter"}},
	})
	_ = engine.Publish(ctx, "resend")
	_ = engine.Publish(ctx, "newsletter")

	// Postmark does not sign its webhooks: the endpoint checks the basic
	// auth credentials set on the webhook. Every message is sent with
	// Metadata naming the campaign and the user.
	parser, err := postmark.New(postmark.WithBasicAuth("postmark", "a long random password"))
	if err != nil {
		panic(err)
	}
	handler, err := webhook.NewHandler(parser, engine)
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("POST /webhooks/postmark", handler)

	post := func(password, body string) {
		r := httptest.NewRequest(http.MethodPost, "/webhooks/postmark", strings.NewReader(body))
		r.SetBasicAuth("postmark", password)
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		fmt.Print(w.Code, " ", w.Body.String())
	}
	post("a long random password", `{"RecordType": "Delivery", "MessageID": "883953f4",
		"DeliveredAt": "2026-01-05T09:00:00Z", "Metadata": {"campaign_id": "newsletter", "user_id": "ann"}}`)
	post("a long random password", `{"RecordType": "Delivery", "MessageID": "5b3c2d9e",
		"DeliveredAt": "2026-01-05T09:00:02Z"}`) // sent without Metadata: no user to track
	post("a guess", `{"RecordType": "Delivery", "MessageID": "0badc0de",
		"DeliveredAt": "2026-01-05T09:00:03Z", "Metadata": {"campaign_id": "newsletter", "user_id": "eve"}}`)

	// Output:
	// scheduled resend for ann due 2026-01-12 09:00:00
	// 200 {"tracked":1}
	// 200 {"tracked":0,"errors":[{"index":0,"id":"5b3c2d9e","error":"postmark: item 0 (id \"5b3c2d9e\"): webhook: campaign or user id missing: no \"campaign_id\" nor \"user_id\""}]}
	// 401 {"tracked":0,"error":"signature check failed"}
}
