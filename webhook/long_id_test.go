package webhook_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/webhook"
)

// An event whose provider ID is far over what any store keeps is refused,
// and neither the answer nor the error callback's message repeats the
// whole ID: a 400 KB ID gives an answer and a message of about a
// kilobyte each, not 400 KB, cut before a rune the limit falls inside.
func TestAnOverLongIDIsNotEchoedWhole(t *testing.T) {
	id := strings.Repeat("x", event.MaxIDBytes-1) + "é" + strings.Repeat("x", 400_000) // the limit falls inside "é"
	parser := webhook.ParserFunc(func(*http.Request, []byte) ([]event.Event, error) {
		return []event.Event{{ID: id, UserID: "ann", Kind: event.EmailOpened, CampaignID: "newsletter"}}, nil
	})
	var logged []string
	h, err := webhook.NewHandler(parser, &recorder{},
		webhook.WithErrorFunc(func(_ *http.Request, err error) { logged = append(logged, err.Error()) }))
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/hook", strings.NewReader("{}")))
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"errors"`) {
		t.Fatalf("got %d %.300s, want 200 with the event among the errors", w.Code, w.Body.String())
	}
	if n := w.Body.Len(); n > 4*event.MaxIDBytes {
		t.Errorf("the answer is %d bytes: it echoes the ID whole", n)
	}
	if len(logged) != 1 {
		t.Fatalf("the error callback got %d messages, want 1", len(logged))
	}
	if msg := logged[0]; len(msg) > 4*event.MaxIDBytes || !strings.Contains(msg, "x…\" of 401025 bytes") {
		t.Errorf("the error callback's message is %d bytes, want about a kilobyte naming the ID's size: %.300q", len(msg), msg)
	}
}
