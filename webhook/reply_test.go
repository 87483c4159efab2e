package webhook_test

import (
	"errors"
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

// A ReplyFunc that writes its body without a status, or nothing at all,
// answers with the handler's status, not net/http's implicit 200: a 500
// still asks the provider for a retry. One that writes a status of its
// own is its host's choice.
func TestWithReplyFuncKeepsTheStatus(t *testing.T) {
	parser := webhook.ParserFunc(func(*http.Request, []byte) ([]event.Event, error) {
		return nil, errors.New("certificate fetch failed") // transient: 500
	})
	for _, c := range []struct {
		name  string
		reply webhook.ReplyFunc
		want  int
	}{
		{"body alone", func(w http.ResponseWriter, _ *http.Request, _ int, _ webhook.Response) {
			io.WriteString(w, "<Response></Response>")
		}, http.StatusInternalServerError},
		{"nothing", func(http.ResponseWriter, *http.Request, int, webhook.Response) {}, http.StatusInternalServerError},
		{"a status of its own", func(w http.ResponseWriter, _ *http.Request, _ int, _ webhook.Response) {
			w.WriteHeader(http.StatusServiceUnavailable)
		}, http.StatusServiceUnavailable},
	} {
		h, err := webhook.NewHandler(parser, &recorder{}, webhook.WithReplyFunc(c.reply))
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(h)
		resp, err := http.Post(srv.URL, "text/plain", strings.NewReader("x"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		srv.Close()
		if resp.StatusCode != c.want {
			t.Errorf("%s: status %d, want %d", c.name, resp.StatusCode, c.want)
		}
	}
}
