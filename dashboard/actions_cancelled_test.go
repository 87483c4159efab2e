package dashboard

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// cancelEndsRequest is a memory store whose CancelCampaign finds the
// request gone: it ends the request's context (the browser closed the
// tab, say) and fails with the context's error.
type cancelEndsRequest struct {
	*store.Memory
	cancel context.CancelFunc
}

func (s cancelEndsRequest) CancelCampaign(ctx context.Context, _, _ string) ([]store.Claim, error) {
	s.cancel()
	return nil, ctx.Err()
}

// TestAStopWhoseRequestEndedDuringTheCancellationSaysItStopped: the
// request's context ends while the engine cancels the stopped campaign's
// deliveries, so the cancellation fails with the context's error. The stop
// took effect all the same: the audit trail says so, not that the action
// failed, and the browser, if still there, is sent to the campaign's page.
func TestAStopWhoseRequestEndedDuringTheCancellationSaysItStopped(t *testing.T) {
	ctx := context.Background()
	send := connector.SenderFunc(func(context.Context, connector.Delivery) error { return nil })
	s := &cancelEndsRequest{Memory: store.NewMemory()}
	e, err := connector.New(s, send)
	noError(t)(err)
	noError(t)(e.Apply(ctx, []rule.Campaign{{ID: "newsletter"}, {ID: "resend",
		Triggers: []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "newsletter"}}, Delay: rule.After(24 * 3600e9)}}))
	noError(t)(e.Track(ctx, event.Event{ID: "r1", UserID: "ann", Kind: event.EmailReceived, CampaignID: "newsletter"}))

	var logged bytes.Buffer
	h := mustHandler(t, engineSource{e}, WithActions(), WithLogger(slog.New(slog.NewTextHandler(&logged, nil))))
	ck, token := startSession(t, h)
	form := url.Values{"op": {opStop}, "id": {"resend"}, "csrf": {token}}
	reqCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	s.cancel = cancel
	req := httptest.NewRequestWithContext(reqCtx, http.MethodPost, "/action", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(ck)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)

	rr, err := e.Campaign(ctx, "resend")
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
