package dashboard

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

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

func (cancelFails) CancelCampaignBatch(context.Context, string, string, string, int) ([]store.Claim, string, error) {
	return nil, "", errors.New("store down")
}

// TestAStopWhoseCancellationFailsSaysWhatHappened: the engine stops the
// campaign, then fails to cancel its pending deliveries. The stop took
// effect, so the dashboard does not answer as if nothing happened: it
// sends the browser to the campaign's page, which says the campaign is
// stopped, that the cancellation failed, under which reference the log
// has the error, and that the deliveries are not sent.
func TestAStopWhoseCancellationFailsSaysWhatHappened(t *testing.T) {
	_, h, logged := stopFixture(t, cancelFails{store.NewMemory()})
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

// stopFixture is an engine on s running "resend" for ann, with a
// dashboard that takes actions and logs into the returned buffer.
func stopFixture(t *testing.T, s store.Store) (*connector.Engine, *handler, *bytes.Buffer) {
	t.Helper()
	ctx := context.Background()
	send := connector.SenderFunc(func(context.Context, connector.Delivery) error { return nil })
	e, err := connector.New(s, send)
	noError(t)(err)
	noError(t)(e.Apply(ctx, []rule.Campaign{{ID: "newsletter"}, {ID: "resend",
		Triggers: []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "newsletter"}}, Delay: rule.After(24 * time.Hour)}}))
	noError(t)(e.Track(ctx, event.Event{ID: "r1", UserID: "ann", Kind: event.EmailReceived, CampaignID: "newsletter"}))
	logged := &bytes.Buffer{}
	h := mustHandler(t, engineSource{e}, WithActions(), WithLogger(slog.New(slog.NewTextHandler(logged, nil))))
	return e, h, logged
}

// cancelEndsRequest is a memory store whose CancelCampaign finds the
// request gone: it ends the request's context (the browser closed the
// tab, say) and fails with the context's error.
type cancelEndsRequest struct {
	*store.Memory
	cancel context.CancelFunc
}

func (s *cancelEndsRequest) CancelCampaign(ctx context.Context, _, _ string) ([]store.Claim, error) {
	s.cancel()
	return nil, ctx.Err()
}

func (s *cancelEndsRequest) CancelCampaignBatch(ctx context.Context, _, _, _ string, _ int) ([]store.Claim, string, error) {
	s.cancel()
	return nil, "", ctx.Err()
}

// TestAStopWhoseRequestEndedDuringTheCancellationSaysItStopped: the
// request's context ends while the engine cancels the stopped campaign's
// deliveries, so the cancellation fails with the context's error. The stop
// took effect all the same: the audit trail says so, not that the action
// failed, and the browser, if still there, is sent to the campaign's page.
func TestAStopWhoseRequestEndedDuringTheCancellationSaysItStopped(t *testing.T) {
	s := &cancelEndsRequest{Memory: store.NewMemory()}
	e, h, logged := stopFixture(t, s)
	ck, token := startSession(t, h)
	form := url.Values{"op": {opStop}, "id": {"resend"}, "csrf": {token}}
	reqCtx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s.cancel = cancel
	req := httptest.NewRequestWithContext(reqCtx, http.MethodPost, "/action", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(ck)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)

	rr, err := e.Campaign(context.Background(), "resend")
	noError(t)(err)
	if rr.State != rule.Stopped {
		t.Fatalf("state %s, want stopped", rr.State)
	}
	if rec.Code != http.StatusSeeOther {
		t.Errorf("status %d, want 303: %s", rec.Code, rec.Body)
	}
	if strings.Contains(logged.String(), "action failed") {
		t.Errorf("the audit trail says the stop failed, though it took effect: %s", logged.String())
	}
	if !strings.Contains(logged.String(), "stop, its pending deliveries not all cancelled") {
		t.Errorf("the audit trail lacks the stop: %s", logged.String())
	}
}
