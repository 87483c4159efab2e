package webhook_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/webhook"
)

// twiml answers as a Twilio incoming-message webhook wants: an empty TwiML
// response, with the handler's status.
func twiml(w http.ResponseWriter, _ *http.Request, status int, _ webhook.Response) {
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Response></Response>`)
}

// A handler with WithReplyFunc writes every answer with it, with the
// status the handler chose and what it would have written as JSON, after
// the error callback.
func TestWithReplyFuncWritesEveryAnswer(t *testing.T) {
	parser := webhook.ParserFunc(func(r *http.Request, body []byte) ([]event.Event, error) {
		switch string(body) {
		case "forged":
			return nil, fmt.Errorf("%w: bad signature", webhook.ErrSignature)
		case "garbled":
			return nil, fmt.Errorf("%w: not a form", webhook.ErrPayload)
		}
		return []event.Event{{ID: "SM1", UserID: "ann", Kind: event.CustomEvent, Name: "sms_unsubscribed"}}, nil
	})
	var calls []string // in order: "error" from the callback, "reply <status> <tracked>" from the reply func
	reply := func(w http.ResponseWriter, r *http.Request, status int, resp webhook.Response) {
		calls = append(calls, fmt.Sprintf("reply %d %d", status, resp.Tracked))
		twiml(w, r, status, resp)
	}
	rec := &recorder{}
	h, err := webhook.NewHandler(parser, rec, webhook.WithReplyFunc(reply),
		webhook.WithErrorFunc(func(*http.Request, error) { calls = append(calls, "error") }))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		method, body string
		status       int
		calls        string
	}{
		{http.MethodPost, "STOP", http.StatusOK, "reply 200 1"},
		{http.MethodPost, "forged", http.StatusUnauthorized, "error, reply 401 0"},
		{http.MethodPost, "garbled", http.StatusBadRequest, "error, reply 400 0"},
		{http.MethodGet, "", http.StatusMethodNotAllowed, "reply 405 0"},
	} {
		calls = nil
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(c.method, "/twilio/incoming", strings.NewReader(c.body)))
		if w.Code != c.status || w.Header().Get("Content-Type") != "text/xml" || !strings.Contains(w.Body.String(), "<Response></Response>") {
			t.Errorf("%s %q: got %d %q %q, want %d with TwiML", c.method, c.body, w.Code, w.Header().Get("Content-Type"), w.Body.String(), c.status)
		}
		if got := strings.Join(calls, ", "); got != c.calls {
			t.Errorf("%s %q: calls %q, want %q", c.method, c.body, got, c.calls)
		}
		if c.method == http.MethodGet && w.Header().Get("Allow") != http.MethodPost {
			t.Errorf("GET: Allow %q, want POST", w.Header().Get("Allow"))
		}
	}
	if len(rec.got) != 1 || rec.got[0].ID != "SM1" {
		t.Errorf("tracked %v, want SM1 once", ids(rec.got))
	}
}

// WithReplyFunc refuses a nil func.
func TestWithReplyFuncRefusesNil(t *testing.T) {
	_, err := webhook.NewHandler(webhook.ParserFunc(func(*http.Request, []byte) ([]event.Event, error) { return nil, nil }),
		&recorder{}, webhook.WithReplyFunc(nil))
	if err == nil || !strings.Contains(err.Error(), "nil reply func") {
		t.Errorf("NewHandler with WithReplyFunc(nil): %v, want the nil reply func refused", err)
	}
}
