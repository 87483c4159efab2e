package webhook_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/webhook"
	"github.com/stretchr/testify/require"
)

// TestErrorFuncTextIsBounded: a batch of 5,000 items the parser could not
// read, and 5,000 events the tracker failed, hand the error callback a
// text that names ten of each list and how many more there are, while
// ItemErrors, errors.As and errors.Is still see every one.
func TestErrorFuncTextIsBounded(t *testing.T) {
	const n = 5000
	var items []error
	var evs []event.Event
	failOn := map[string]error{}
	errDown := errors.New("store down")
	for i := range n {
		items = append(items, &webhook.ItemError{Provider: "test", Index: 2 * i, ProviderEventID: fmt.Sprintf("bad-%d", i),
			Err: fmt.Errorf("%w: no %q", webhook.ErrMissingID, "user_id")})
		ev := event.Event{ID: fmt.Sprintf("ev-%d", i), UserID: fmt.Sprintf("user-%d", i), Kind: event.EmailOpened, CampaignID: "newsletter"}
		evs = append(evs, ev)
		failOn[ev.ID] = errDown
	}
	for _, batch := range []bool{false, true} {
		t.Run(fmt.Sprintf("batch %v", batch), func(t *testing.T) {
			rec := &recorder{failOn: failOn}
			var tracker webhook.Tracker = rec
			if batch {
				tracker = batchRecorder{rec}
			}
			var got error
			h, err := webhook.NewHandler(returns(evs, errors.Join(items...)), tracker,
				webhook.WithErrorFunc(func(_ *http.Request, err error) { got = err }))
			require.NoError(t, err)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/hook", strings.NewReader("{}")))
			require.Equal(t, http.StatusInternalServerError, w.Code)
			require.Error(t, got)
			text := got.Error()
			require.Less(t, len(text), 4096, "the callback's text grows with the batch")
			require.Contains(t, text, `bad-0`)
			require.NotContains(t, text, `bad-10"`)
			require.Contains(t, text, fmt.Sprintf("… and %d more errors", n-9)) // ten items shown, then the rest and the untracked events
			require.Len(t, webhook.ItemErrors(got), n)
			var untracked *webhook.UntrackedError
			require.ErrorAs(t, got, &untracked)
			require.Len(t, untracked.Events, n)
			require.ErrorIs(t, got, errDown)
			require.Contains(t, untracked.Error(), fmt.Sprintf("… and %d more errors", n-10))
		})
	}
}

// TestErrorFuncTextOfAFewErrorsIsErrorsJoin: up to ten errors read as
// errors.Join writes them.
func TestErrorFuncTextOfAFewErrorsIsErrorsJoin(t *testing.T) {
	var items []error
	for i := range 3 {
		items = append(items, &webhook.ItemError{Provider: "test", Index: i, ProviderEventID: fmt.Sprintf("bad-%d", i),
			Err: fmt.Errorf("%w: no %q", webhook.ErrMissingID, "user_id")})
	}
	var got error
	h, err := webhook.NewHandler(returns(nil, errors.Join(items...)), &recorder{},
		webhook.WithErrorFunc(func(_ *http.Request, err error) { got = err }))
	require.NoError(t, err)
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/hook", strings.NewReader("{}")))
	require.EqualError(t, got, errors.Join(items...).Error())
}
