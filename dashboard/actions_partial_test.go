package dashboard

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// cancelFails is a memory store whose CancelCampaign fails.
type cancelFails struct{ *store.Memory }

func (cancelFails) CancelCampaign(context.Context, string, string) ([]store.Claim, error) {
	return nil, errors.New("store down")
}

// TestAStopWhoseCancellationFailsSaysWhatHappened: the engine stops the
// campaign, then fails to cancel its pending deliveries. The stop took
// effect, so the dashboard does not answer as if nothing happened: it
// sends the browser to the campaign's page, which says the campaign is
// stopped, that the cancellation failed, under which reference the log
// has the error, and that the deliveries are not sent.
func TestAStopWhoseCancellationFailsSaysWhatHappened(t *testing.T) {
	ctx := context.Background()
	send := connector.SenderFunc(func(context.Context, connector.Delivery) error { return nil })
	e, err := connector.New(cancelFails{store.NewMemory()}, send)
	noError(t)(err)
	noError(t)(e.Apply(ctx, []rule.Campaign{{ID: "newsletter"}, {ID: "resend",
		Triggers: []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "newsletter"}}, Delay: rule.After(24 * 3600e9)}}))
	noError(t)(e.Track(ctx, event.Event{ID: "r1", UserID: "ann", Kind: event.EmailReceived, CampaignID: "newsletter"}))

	var logged bytes.Buffer
	h := mustHandler(t, engineSource{e}, WithActions(), WithLogger(slog.New(slog.NewTextHandler(&logged, nil))))
	ck, token := startSession(t, h)
	rec := post(h, url.Values{"op": {opStop}, "id": {"resend"}, "csrf": {token}}, ck, nil)
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("status %d, want 303: %s", rec.Code, rec.Body)
	}
	loc := rec.Header().Get("Location")
	m := regexp.MustCompile(`ref=([A-Z2-7]{10})`).FindStringSubmatch(loc)
	if m == nil {
		t.Fatalf("the redirect %q carries no reference", loc)
	}
	for _, want := range []string{"level=ERROR", "error=\"connector: stop \\\"resend\\\": cancelling pending deliveries: store down\"", "ref=" + m[1],
		"level=WARN", "stop, its pending deliveries not all cancelled"} {
		if !strings.Contains(logged.String(), want) {
			t.Errorf("the log lacks %s: %s", want, logged.String())
		}
	}
	page := body(t, get(t, h, "/"+loc), http.StatusOK)
	flash := section(t, page, `class="flash"`, "</p>")
	for _, want := range []string{"Stopped, but cancelling its pending deliveries failed", m[1], "they are not sent"} {
		if !strings.Contains(flash, want) {
			t.Errorf("the page's note lacks %q: %s", want, flash)
		}
	}
	// The same address with a reference of another form, or for a
	// campaign the state does not bear out, says nothing of a failure.
	for _, q := range []string{"campaign?id=resend&done=stop&ref=%3Cb%3E", "campaign?id=newsletter&done=stop&ref=" + m[1]} {
		if p := body(t, get(t, h, "/"+q), http.StatusOK); strings.Contains(p, "cancelling its pending deliveries failed") {
			t.Errorf("%s: the page reports a failure the address alone asserts", q)
		}
	}
}
