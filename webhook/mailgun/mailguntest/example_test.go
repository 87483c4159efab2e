package mailguntest_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/webhook"
	"github.com/campaignconnector/campaignconnector/webhook/mailgun"
	"github.com/campaignconnector/campaignconnector/webhook/mailgun/mailguntest"
)

// clockAt is a clock stopped at one instant; a host's test passes its mock
// clock (clock.NewMock() from github.com/benbjohnson/clock).
type clockAt time.Time

func (c clockAt) Now() time.Time { return time.Time(c) }

// A host's test of its Mailgun endpoint: the signer plays Mailgun, the
// handler is the host's own, and the tracker records what reaches the
// engine (in a host's test, the tracker is its engine).
func Example() {
	now := time.Date(2026, time.January, 6, 9, 0, 5, 0, time.UTC)
	signer := mailguntest.NewSigner()
	parser, err := mailgun.New(signer.Key, mailgun.WithClock(clockAt(now)))
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

	opened := []byte(`{"event":"opened","id":"mg-1","timestamp":1767690000,
		"user-variables":{"campaign_id":"newsletter","user_id":"ann"}}`)
	req := signer.Request("/webhooks/mailgun", opened, now)
	w := httptest.NewRecorder()
	handler.ServeHTTP(w, req)
	fmt.Print(w.Code, " ", w.Body.String())
	for _, ev := range tracked {
		fmt.Println(ev.ID, ev.Kind, ev.CampaignID, ev.UserID, ev.Time.Format(time.RFC3339))
	}

	// A signature older than the replay window is refused.
	w = httptest.NewRecorder()
	handler.ServeHTTP(w, signer.Request("/webhooks/mailgun", opened, now.Add(-time.Hour)))
	fmt.Print(w.Code, " ", w.Body.String())

	// Output:
	// 200 {"tracked":1}
	// mg-1 email_opened newsletter ann 2026-01-06T09:00:00Z
	// 401 {"tracked":0,"error":"signature check failed"}
}
