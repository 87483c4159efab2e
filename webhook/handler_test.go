package webhook_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/webhook"
	"github.com/stretchr/testify/require"
)

// recorder is a Tracker that remembers what it got and fails on request.
type recorder struct {
	mu     sync.Mutex
	got    []event.Event
	failOn map[string]error // by event ID
}

func (r *recorder) Track(_ context.Context, ev event.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.failOn[ev.ID]; err != nil {
		return err
	}
	if err := ev.Validate(); err != nil {
		return err
	}
	r.got = append(r.got, ev)
	return nil
}

// batchRecorder is a recorder that takes batches too, as the engine does:
// each event tracked in turn, the failures joined as TrackErrors.
type batchRecorder struct{ *recorder }

func (r batchRecorder) TrackAll(ctx context.Context, evs []event.Event) error {
	var errs []error
	for i, ev := range evs {
		if err := r.Track(ctx, ev); err != nil {
			errs = append(errs, &connector.TrackError{Index: i, Err: err})
		}
	}
	return errors.Join(errs...)
}

func ids(evs []event.Event) []string {
	var out []string
	for _, ev := range evs {
		out = append(out, ev.ID)
	}
	return out
}

var (
	evA = event.Event{ID: "a", UserID: "ann", Kind: event.EmailReceived, CampaignID: "newsletter"}
	evB = event.Event{ID: "b", UserID: "bob", Kind: event.EmailOpened, CampaignID: "newsletter"}
	evC = event.Event{ID: "c", UserID: "cleo", Kind: event.EmailClicked, CampaignID: "newsletter"}
)

func returns(evs []event.Event, err error) webhook.Parser {
	return webhook.ParserFunc(func(*http.Request, []byte) ([]event.Event, error) { return evs, err })
}

func TestHandlerStatus(t *testing.T) {
	storeDown := errors.New("store: connection refused")
	missing := &webhook.ItemError{Provider: "test", Index: 1, ProviderEventID: "x", Err: fmt.Errorf("%w: no %q", webhook.ErrMissingID, "user_id")}
	tests := []struct {
		name        string
		method      string
		body        string
		parser      webhook.Parser
		failOn      map[string]error
		opts        []webhook.Option
		status      int
		tracked     []string
		respErrors  int
		errorFunc   bool // the error callback must be called
		errorIs     any  // and its error must wrap this error, or be As this target
		wantTracked int
	}{
		{name: "success tracks every event", parser: returns([]event.Event{evA, evB}, nil),
			status: 200, tracked: []string{"a", "b"}, wantTracked: 2},
		{name: "no events is fine", parser: returns(nil, nil), status: 200},
		{name: "GET is not allowed", method: http.MethodGet, parser: returns([]event.Event{evA}, nil), status: 405, errorFunc: false},
		{name: "PUT is not allowed", method: http.MethodPut, parser: returns([]event.Event{evA}, nil), status: 405},
		{name: "bad signature is 401", parser: returns(nil, fmt.Errorf("x: %w: nope", webhook.ErrSignature)),
			status: 401, errorFunc: true, errorIs: webhook.ErrSignature},
		{name: "bad payload is 400", parser: returns(nil, fmt.Errorf("x: %w: %w", webhook.ErrPayload, errors.New("eof"))),
			status: 400, errorFunc: true, errorIs: webhook.ErrPayload},
		{name: "control message is 200", parser: returns(nil, fmt.Errorf("x: %w: subscribe", webhook.ErrControl)),
			status: 200, errorFunc: true, errorIs: webhook.ErrControl},
		{name: "transient parser error is 500", parser: returns(nil, errors.New("x: fetching certificate: timeout")),
			status: 500, errorFunc: true},
		{name: "item errors alone are 200 and listed", parser: returns([]event.Event{evA, evC}, errors.Join(missing)),
			status: 200, tracked: []string{"a", "c"}, respErrors: 1, errorFunc: true, errorIs: webhook.ErrMissingID, wantTracked: 2},
		{name: "invalid event from the engine is listed, the rest tracked",
			parser: returns([]event.Event{evA, {ID: "bad", Kind: event.EmailOpened, CampaignID: "n"}, evB}, nil),
			status: 200, tracked: []string{"a", "b"}, respErrors: 1, errorFunc: true, errorIs: new(*event.ValidationError), wantTracked: 2},
		{name: "store failure is 500 and the rest still tracked", parser: returns([]event.Event{evA, evB, evC}, nil),
			failOn: map[string]error{"b": storeDown},
			status: 500, tracked: []string{"a", "c"}, errorFunc: true, errorIs: storeDown, wantTracked: 2},
		{name: "store failure wins over item errors", parser: returns([]event.Event{evA, evB}, errors.Join(missing)),
			failOn: map[string]error{"a": storeDown},
			status: 500, tracked: []string{"b"}, respErrors: 1, errorFunc: true, errorIs: storeDown, wantTracked: 1},
		{name: "body over the limit is 413", body: strings.Repeat("x", 101), parser: returns([]event.Event{evA}, nil),
			opts: []webhook.Option{webhook.WithMaxBodySize(100)}, status: 413, errorFunc: true},
		{name: "body at the limit is read", body: strings.Repeat("x", 100), parser: returns([]event.Event{evA}, nil),
			opts: []webhook.Option{webhook.WithMaxBodySize(100)}, status: 200, tracked: []string{"a"}, wantTracked: 1},
	}
	for _, tc := range tests {
		for _, batch := range []bool{false, true} {
			name := tc.name
			if batch {
				name += " (TrackAll)"
			}
			t.Run(name, func(t *testing.T) {
				rec := &recorder{failOn: tc.failOn}
				var tracker webhook.Tracker = rec
				if batch {
					tracker = batchRecorder{rec}
				}
				var reported error
				called := false
				opts := append([]webhook.Option{webhook.WithErrorFunc(func(_ *http.Request, err error) {
					called, reported = true, err
				})}, tc.opts...)
				h, err := webhook.NewHandler(tc.parser, tracker, opts...)
				require.NoError(t, err)
				method := tc.method
				if method == "" {
					method = http.MethodPost
				}
				w := httptest.NewRecorder()
				h.ServeHTTP(w, httptest.NewRequest(method, "/hook", strings.NewReader(tc.body)))

				require.Equal(t, tc.status, w.Code, w.Body.String())
				require.Equal(t, "application/json", w.Header().Get("Content-Type"))
				if tc.status == 405 {
					require.Equal(t, "POST", w.Header().Get("Allow"))
				}
				var resp webhook.Response
				require.NoError(t, json.Unmarshal(w.Body.Bytes(), &resp))
				require.Equal(t, tc.wantTracked, resp.Tracked)
				require.Len(t, resp.Errors, tc.respErrors)
				require.Equal(t, tc.tracked, ids(rec.got))
				require.Equal(t, tc.status >= 400, resp.Error != "", resp)
				require.Equal(t, tc.errorFunc, called, "%v", reported)
				switch target := tc.errorIs.(type) {
				case nil:
				case **event.ValidationError:
					require.ErrorAs(t, reported, target)
				case error:
					require.ErrorIs(t, reported, target)
				default:
					t.Fatalf("bad errorIs %T", target)
				}
			})
		}
	}
}

// TestHandlerTrackAllNotPerEvent checks that a TrackAll error that is not
// all about single events fails the whole payload.
func TestHandlerTrackAllNotPerEvent(t *testing.T) {
	down := errors.New("store: connection refused")
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"an error about no event", down},
		{"an event's error joined with another", errors.Join(&connector.TrackError{Index: 1, Err: down}, down)},
		{"an index outside the payload", errors.Join(&connector.TrackError{Index: 2, Err: down})},
		{"a wrapped join", fmt.Errorf("tracker: %w", errors.Join(&connector.TrackError{Index: 0, Err: down},
			&connector.TrackError{Index: 1, Err: down}))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bt := batchFunc(func(context.Context, []event.Event) error { return tc.err })
			h, err := webhook.NewHandler(returns([]event.Event{evA, evB}, nil), bt)
			require.NoError(t, err)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/hook", strings.NewReader("{}")))
			require.Equal(t, 500, w.Code)
			var resp webhook.Response
			require.NoError(t, json.Unmarshal(w.Body.Bytes(), &resp))
			require.Zero(t, resp.Tracked)
			require.Empty(t, resp.Errors)
		})
	}
}

// batchFunc is a BatchTracker whose TrackAll is the function (Track is never
// called by the handler for payloads of several events).
type batchFunc func(context.Context, []event.Event) error

func (f batchFunc) Track(ctx context.Context, ev event.Event) error       { return f(ctx, []event.Event{ev}) }
func (f batchFunc) TrackAll(ctx context.Context, evs []event.Event) error { return f(ctx, evs) }

func TestHandlerResponseBody(t *testing.T) {
	missing := &webhook.ItemError{Provider: "sendgrid", Index: 3, ProviderEventID: "sg-3", Err: fmt.Errorf("%w: no %q", webhook.ErrMissingID, "user_id")}
	h, err := webhook.NewHandler(returns([]event.Event{evA}, errors.Join(missing)), &recorder{})
	require.NoError(t, err)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/hook", strings.NewReader("{}")))
	require.Equal(t, 200, w.Code)
	require.JSONEq(t, `{"tracked":1,"errors":[{"index":3,"id":"sg-3",
		"error":"sendgrid: item 3 (id \"sg-3\"): webhook: campaign or user id missing: no \"user_id\""}]}`, w.Body.String())
}

func TestHandlerPassesBodyAndRequest(t *testing.T) {
	var gotBody string
	var gotHeader string
	p := webhook.ParserFunc(func(r *http.Request, body []byte) ([]event.Event, error) {
		gotBody, gotHeader = string(body), r.Header.Get("X-Sig")
		return nil, nil
	})
	h, err := webhook.NewHandler(p, &recorder{})
	require.NoError(t, err)
	r := httptest.NewRequest(http.MethodPost, "/hook", strings.NewReader(`[{"event":"open"}]`))
	r.Header.Set("X-Sig", "s")
	h.ServeHTTP(httptest.NewRecorder(), r)
	require.Equal(t, `[{"event":"open"}]`, gotBody)
	require.Equal(t, "s", gotHeader)
}

func TestHandlerCancelledContext(t *testing.T) {
	rec := &recorder{}
	h, err := webhook.NewHandler(returns([]event.Event{evA, evB}, nil), rec)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/hook", nil).WithContext(ctx))
	require.Equal(t, 500, w.Code)
	require.Empty(t, rec.got)
}

func TestNewHandlerRejects(t *testing.T) {
	p, tr := returns(nil, nil), &recorder{}
	tests := []struct {
		name   string
		parser webhook.Parser
		track  webhook.Tracker
		opts   []webhook.Option
	}{
		{"nil parser", nil, tr, nil},
		{"nil tracker", p, nil, nil},
		{"nil engine", p, (*connector.Engine)(nil), nil},
		{"nil tracker function", p, webhook.TrackerFunc(nil), nil},
		{"nil parser function", webhook.ParserFunc(nil), tr, nil},
		{"nil option", p, tr, []webhook.Option{nil}},
		{"nil error func", p, tr, []webhook.Option{webhook.WithErrorFunc(nil)}},
		{"zero body limit", p, tr, []webhook.Option{webhook.WithMaxBodySize(0)}},
		{"negative body limit", p, tr, []webhook.Option{webhook.WithMaxBodySize(-1)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, err := webhook.NewHandler(tc.parser, tc.track, tc.opts...)
			require.Error(t, err)
			require.Nil(t, h)
			require.True(t, strings.HasPrefix(err.Error(), "webhook: "), err.Error())
			require.ErrorIs(t, err, webhook.ErrInvalidOption)
		})
	}
}

// WithErrorFunc refuses a nil func, as WithReplyFunc does: leaving the
// option out is how a host says it wants no callback.
func TestWithErrorFuncRefusesNil(t *testing.T) {
	_, err := webhook.NewHandler(returns(nil, nil), &recorder{}, webhook.WithErrorFunc(nil))
	require.EqualError(t, err, "webhook: nil error func")
}

// indexed is an IndexedParser returning events with the given item
// positions.
type indexed struct {
	events []event.Event
	items  []int
	err    error
}

func (p indexed) Parse(r *http.Request, body []byte) ([]event.Event, error) { return p.events, p.err }
func (p indexed) ParseIndexed(*http.Request, []byte) ([]event.Event, []int, error) {
	return p.events, p.items, p.err
}

// TestHandlerIndexesRejectedEvents: an event the engine rejects is listed
// under its item's position when the parser says it, and under -1 when it
// does not (a plain Parser, or positions that do not fit the events).
func TestHandlerIndexesRejectedEvents(t *testing.T) {
	bad := event.Event{ID: "bad", Kind: event.EmailOpened, CampaignID: "n"} // no user
	evs := []event.Event{evA, bad, evB}
	for _, tc := range []struct {
		name   string
		parser webhook.Parser
		want   int
	}{
		{"an IndexedParser", indexed{evs, []int{0, 4, 7}, nil}, 4},
		{"a plain Parser", returns(evs, nil), -1},
		{"positions that do not fit the events", indexed{evs, []int{0, 4}, nil}, -1},
	} {
		for _, batch := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s, batch %v", tc.name, batch), func(t *testing.T) {
				rec := &recorder{}
				var tracker webhook.Tracker = rec
				if batch {
					tracker = batchRecorder{rec}
				}
				h, err := webhook.NewHandler(tc.parser, tracker)
				require.NoError(t, err)
				w := httptest.NewRecorder()
				h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/hook", strings.NewReader("{}")))
				require.Equal(t, 200, w.Code)
				var resp webhook.Response
				require.NoError(t, json.Unmarshal(w.Body.Bytes(), &resp))
				require.Equal(t, 2, resp.Tracked)
				require.Len(t, resp.Errors, 1)
				require.Equal(t, "bad", resp.Errors[0].ID)
				require.Equal(t, tc.want, resp.Errors[0].Index)
			})
		}
	}
}

// TestHandlerListsItemsInTheRequestsOrder: the items the parser could not
// turn into events and the events the engine rejected come in one list,
// by position in the request.
func TestHandlerListsItemsInTheRequestsOrder(t *testing.T) {
	bad := event.Event{ID: "bad", Kind: event.EmailOpened, CampaignID: "n"} // no user
	missing := &webhook.ItemError{Provider: "test", Index: 9, ProviderEventID: "x", Err: fmt.Errorf("%w: no %q", webhook.ErrMissingID, "user_id")}
	p := indexed{[]event.Event{evA, bad, evB}, []int{0, 4, 7}, errors.Join(missing)}
	h, err := webhook.NewHandler(p, batchRecorder{&recorder{}})
	require.NoError(t, err)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/hook", strings.NewReader("{}")))
	var resp webhook.Response
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &resp))
	var got []int
	for _, e := range resp.Errors {
		got = append(got, e.Index)
	}
	require.Equal(t, []int{4, 9}, got)
}
