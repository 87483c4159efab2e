package webhook_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/campaignconnector/campaignconnector/webhook"
)

// lookupFunc is a tracker that accepts every event and answers a
// campaign's look-up with its func.
type lookupFunc struct {
	webhook.TrackerFunc
	lookup func(id string) error
}

func (l lookupFunc) Campaign(_ context.Context, id string) (store.CampaignRecord, error) {
	return store.CampaignRecord{}, l.lookup(id)
}

// A request naming a thousand made-up campaigns gets them all in its
// answer, but the error the handler reports (and a host logs for each
// request) names the first 20 and how many more; a store failing each
// look-up gives the first 5 failures, and the handler looks no more
// campaigns up.
func TestAFloodOfUnknownCampaignsIsNamedInBrief(t *testing.T) {
	var evs []event.Event
	for i := range 1000 {
		evs = append(evs, event.Event{ID: fmt.Sprint("e", i), UserID: "ann", Kind: event.EmailOpened, CampaignID: fmt.Sprintf("made-up-%04d", i)})
	}
	parser := webhook.ParserFunc(func(*http.Request, []byte) ([]event.Event, error) { return evs, nil })
	track := webhook.TrackerFunc(func(context.Context, event.Event) error { return nil })
	errStoreDown := errors.New("store down")
	for _, c := range []struct {
		name     string
		lookup   func(id string) error
		unknown  int
		contains []string
		lookups  int
	}{
		{"unknown", func(id string) error { return fmt.Errorf("%w %q", connector.ErrUnknownCampaign, id) }, 1000,
			[]string{`"made-up-0019"] and 980 more, and no follow-up uses them`}, 1000},
		{"look-ups failing", func(string) error { return errStoreDown }, 0,
			[]string{`looking campaign "made-up-0004" up: store down`, "webhook: 995 more campaigns not looked up after 5 look-ups failed"}, 5},
	} {
		t.Run(c.name, func(t *testing.T) {
			var reported error
			lookups := 0
			lookup := func(id string) error { lookups++; return c.lookup(id) }
			h, err := webhook.NewHandler(parser, lookupFunc{track, lookup},
				webhook.WithErrorFunc(func(_ *http.Request, err error) { reported = err }))
			if err != nil {
				t.Fatal(err)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/hook", strings.NewReader("{}")))
			var resp struct {
				UnknownCampaigns []string `json:"unknown_campaigns"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil {
				t.Fatalf("the answer %.300s: %v", w.Body.String(), err)
			}
			if len(resp.UnknownCampaigns) != c.unknown {
				t.Errorf("the answer lists %d unknown campaigns, want %d", len(resp.UnknownCampaigns), c.unknown)
			}
			if lookups != c.lookups {
				t.Errorf("%d look-ups, want %d", lookups, c.lookups)
			}
			if reported == nil {
				t.Fatal("no error reported")
			}
			msg := reported.Error()
			if len(msg) > 2000 {
				t.Errorf("the reported error is %d bytes: %.300s…", len(msg), msg)
			}
			for _, want := range c.contains {
				if !strings.Contains(msg, want) {
					t.Errorf("the reported error lacks %q:\n%s", want, msg)
				}
			}
		})
	}
}
