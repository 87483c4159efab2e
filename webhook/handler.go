package webhook

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/internal/errlist"
	"github.com/campaignconnector/campaignconnector/internal/nilval"
	"github.com/campaignconnector/campaignconnector/internal/optionerr"
)

// DefaultMaxBodySize is the largest request body a [Handler] reads unless
// configured otherwise: 1 MiB, well above the providers' batch sizes.
const DefaultMaxBodySize = 1 << 20

// Handler serves one provider's webhook endpoint: it reads the body,
// has its [Parser] verify and translate it, and tracks every event. It is
// safe for concurrent use.
//
// Status codes, chosen so that providers retry exactly what a retry can
// fix:
//
//   - 405 for a method other than POST;
//   - 415, with an Accept-Encoding of identity, for a body sent
//     compressed or otherwise encoded (a Content-Encoding other than
//     identity), unread: no provider sends one, and a signature is
//     checked over the body as the provider wrote it ([*EncodingError]);
//   - 413 for a body over the size limit ([WithMaxBodySize]), unread
//     when its Content-Length says so;
//   - 401 when the parser's error wraps [ErrSignature];
//   - 400 when it wraps [ErrPayload], or the body cannot be read for any
//     reason but those below (a chunked body net/http cannot decode);
//   - 503 for a body that did not arrive whole: its read timed out (the
//     server's ReadTimeout ended a slow upload), or the connection was
//     cut (before the body's Content-Length, or anywhere in a chunked
//     body, its trailer included). Sent again, it may arrive whole, and
//     SendGrid, Mailgun and Amazon SNS retry a 5xx (but SNS retries no
//     4xx, and Mailgun no delivered event);
//   - 500 for any other parser error (transient: a certificate that could
//     not be fetched) and when Track failed for any event with an error
//     that is not a [*event.ValidationError], or the request's context
//     ended before all were tracked. Every other event of the batch is
//     still tracked (but after a store failure the engine's TrackAll
//     leaves untried the later events of the users whose events it
//     failed, for the retry to apply in order): the retry sends them
//     again, and the engine ignores the ones it has seen (the parsers
//     give events the providers' ids).
//     The error callback gets an [*UntrackedError] holding the events not
//     tracked, for the host to keep when its provider does not retry;
//   - 200 otherwise, including for control messages ([ErrControl]), for
//     duplicates, and for items that could not become events (no campaign
//     or user id) or that the engine rejected as invalid (a
//     [*event.ValidationError]: a missing field, or a value no store can
//     keep, such as a NUL byte in a user id): retrying would not help, so
//     they are listed in the [Response] instead, and the batch's other
//     events are tracked.
//
// The body of every answer is a JSON [Response], unless [WithReplyFunc]
// writes another format. The error behind any answer but a clean 200 or
// a 405 goes to the [WithErrorFunc] callback; a 200 is not clean when it
// lists items, or when tracked events name a campaign the engine does not
// know ([CampaignLookup]): the error then wraps
// [connector.ErrUnknownCampaign].
//
// The handler reads the whole body before the parser checks the
// signature, and sets no deadline of its own: serve it from an
// http.Server with a ReadTimeout, or a client trickling bytes holds the
// connection, and up to the body size limit of memory, as long as it
// likes. A WriteTimeout, if the server has one, must be longer than the
// ReadTimeout plus the time tracking takes: once it has passed, the
// server writes no answer, and a slow upload's 503 never reaches the
// provider.
type Handler struct {
	parser  Parser
	tracker Tracker
	maxBody int64
	onError func(r *http.Request, err error)
	write   ReplyFunc // nil: JSON
}

// Option configures a [Handler]; pass options to [NewHandler].
type Option func(*Handler) error

// WithMaxBodySize sets the largest body accepted, in bytes (n > 0); larger
// bodies get 413. Defaults to [DefaultMaxBodySize].
func WithMaxBodySize(n int64) Option {
	return func(h *Handler) error {
		if n <= 0 {
			return fmt.Errorf("webhook: body size limit must be positive, got %d", n)
		}
		h.maxBody = n
		return nil
	}
}

// WithErrorFunc sets a callback told about every request that did not go
// through cleanly: the parser's errors; the tracker's, inside an
// [*UntrackedError] holding the events not tracked; item errors joined;
// events naming unknown campaigns (wrapping connector.ErrUnknownCampaign);
// or the [ErrControl] error of a control message (an SNS subscription
// confirmation the host may want to confirm). The error's text gives the
// first ten errors of a list and how many more there are, so that a batch
// of thousands of bad items logs one short line; [ItemErrors],
// [errors.As] and [errors.Is] see them all. It is called
// before the response is written, on the request's goroutine; it must not
// write to the response. A nil f is refused: leave the option out for no
// callback. Defaults to none.
func WithErrorFunc(f func(r *http.Request, err error)) Option {
	return func(h *Handler) error {
		if f == nil {
			return errors.New("webhook: nil error func")
		}
		h.onError = f
		return nil
	}
}

// NewHandler returns a handler that parses requests with p and tracks the
// events with t (typically a *connector.Engine). A nil p, or a nil
// pointer such as the *Parser a provider's New returns with an error, and
// a nil t are refused, and so is an option it cannot use: each is an
// error wrapping [ErrInvalidOption].
func NewHandler(p Parser, t Tracker, opts ...Option) (*Handler, error) {
	if nilval.Is(p) { // a nil *mailgun.Parser (New's result on error) would panic in every request
		if p == nil {
			return nil, optionerr.Mark(ErrInvalidOption, errors.New("webhook: nil parser: pass one of the provider packages' parsers"))
		}
		return nil, optionerr.Mark(ErrInvalidOption, fmt.Errorf("webhook: nil parser (a nil %T): pass a parser its New returned without error", p))
	}
	if e, ok := t.(*connector.Engine); nilval.Func(t) || ok && e == nil {
		return nil, optionerr.Mark(ErrInvalidOption, errors.New("webhook: nil tracker: pass the engine"))
	}
	h := &Handler{parser: p, tracker: t, maxBody: DefaultMaxBodySize}
	for _, o := range opts {
		if o == nil {
			return nil, optionerr.Mark(ErrInvalidOption, errors.New("webhook: nil option"))
		}
		if err := o(h); err != nil {
			return nil, optionerr.Mark(ErrInvalidOption, err)
		}
	}
	return h, nil
}

// Response is the JSON body of every answer of a [Handler].
type Response struct {
	// Tracked counts the events Track accepted (duplicates included).
	Tracked int `json:"tracked"`
	// UnknownCampaign counts the events among Tracked that name a
	// campaign the engine does not know: it accepted and ignored them.
	// Only a tracker that is a [CampaignLookup] (the engine is) can say;
	// with another, it is 0.
	UnknownCampaign int `json:"unknown_campaign,omitempty"`
	// UnknownCampaigns lists the ids of those campaigns, sorted.
	UnknownCampaigns []string `json:"unknown_campaigns,omitempty"`
	// Errors lists the items that could not become events or that the
	// engine rejected.
	Errors []ResponseError `json:"errors,omitempty"`
	// Error says why the request as a whole failed.
	Error string `json:"error,omitempty"`
}

// ResponseError is one item of [Response.Errors]: an [*ItemError].
type ResponseError struct {
	Index int    `json:"index"`        // [ItemError.Index]
	ID    string `json:"id,omitempty"` // [ItemError.ProviderEventID], cut to [event.MaxIDBytes]
	Error string `json:"error"`        // what is wrong
}

// ServeHTTP implements [http.Handler].
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.reply(w, r, http.StatusMethodNotAllowed, Response{Error: "method not allowed: use POST"}, nil)
		return
	}
	body, refused := h.readBody(w, r)
	if refused != nil {
		h.reply(w, r, refused.status, Response{Error: refused.text}, refused.err)
		return
	}
	events, index, err := h.parse(r, body)
	items, rest := split(err)
	switch {
	case rest == nil:
	case errors.Is(rest, ErrSignature):
		h.reply(w, r, http.StatusUnauthorized, Response{Error: "signature check failed"}, rest)
		return
	case errors.Is(rest, ErrPayload):
		h.reply(w, r, http.StatusBadRequest, Response{Error: rest.Error()}, rest)
		return
	case errors.Is(rest, ErrControl):
		h.reply(w, r, http.StatusOK, Response{}, rest)
		return
	default:
		h.reply(w, r, http.StatusInternalServerError, Response{Error: "internal error; retry later"}, rest)
		return
	}
	resp, report, retry := h.track(r, events, index, items)
	status := http.StatusOK
	if retry {
		status = http.StatusInternalServerError
		resp.Error = "tracking failed; retry later"
	}
	h.reply(w, r, status, resp, report)
}

// parse has the parser verify and translate body; index gives the
// position of each event's item in the request, or is nil when the parser
// does not say (or says something that does not fit the events).
func (h *Handler) parse(r *http.Request, body []byte) (events []event.Event, index []int, err error) {
	ip, ok := h.parser.(IndexedParser)
	if !ok {
		events, err = h.parser.Parse(r, body)
		return events, nil, err
	}
	events, index, err = ip.ParseIndexed(r, body)
	if len(index) != len(events) {
		index = nil
	}
	return events, index, err
}

// itemIndex is the position in the request of the item event i comes from,
// or -1 when unknown.
func itemIndex(index []int, i int) int {
	if index == nil {
		return -1
	}
	return index[i]
}

// outcome is what became of one event of a request.
type outcome uint8

const (
	untracked outcome = iota // not tried, or failed for a reason a retry may fix
	tracked                  // accepted by the tracker, duplicates included
	rejected                 // invalid: a retry would not help
)

// track tracks every event. It returns the response listing the items that
// did not make it, every error met (item errors included) joined, and
// whether some failure deserves a retry.
func (h *Handler) track(r *http.Request, events []event.Event, index []int, items []*ItemError) (resp Response, report error, retry bool) {
	ctx := r.Context()
	var provider string // of the parser's item errors, for the engine's
	if np, ok := h.parser.(NamedParser); ok {
		provider = np.Provider()
	}
	var lost []event.Event
	var failed []error
	state := make([]outcome, len(events))
	if bt, ok := h.tracker.(BatchTracker); ok && len(events) > 1 {
		items, failed = trackAll(ctx, bt, events, index, provider, items, state)
	} else {
		for i, ev := range events {
			if err := ctx.Err(); err != nil {
				failed = append(failed, fmt.Errorf("webhook: tracking %d events: %w", len(events)-i, err))
				break
			}
			err := h.tracker.Track(ctx, ev)
			switch {
			case err == nil:
				state[i] = tracked
			case errors.As(err, new(*event.ValidationError)):
				state[i] = rejected
				items = append(items, &ItemError{Provider: provider, Index: itemIndex(index, i), ProviderEventID: ev.ID, Err: err})
			default:
				failed = append(failed, fmt.Errorf("webhook: tracking event %q: %w", ev.ID, err))
			}
		}
	}
	var ok []event.Event
	for i, ev := range events {
		switch state[i] {
		case tracked:
			ok = append(ok, ev)
		case untracked:
			lost = append(lost, ev)
		}
	}
	resp.Tracked = len(ok)
	var unknown error
	resp.UnknownCampaign, resp.UnknownCampaigns, unknown = h.unknownCampaigns(ctx, ok)
	slices.SortStableFunc(items, func(a, b *ItemError) int { return cmp.Compare(a.Index, b.Index) }) // in the request's order
	all := make([]error, 0, len(items)+2)
	for _, it := range items {
		resp.Errors = append(resp.Errors, ResponseError{Index: it.Index, ID: clipID(it.ProviderEventID), Error: it.Error()})
		all = append(all, it)
	}
	if len(failed) > 0 {
		all = append(all, &UntrackedError{Events: lost, Err: errlist.Join(failed...)})
	}
	return resp, errlist.Join(append(all, unknown)...), len(failed) > 0
}

// trackAll hands events to bt at once and sorts its errors as track does:
// events it rejected become items (of provider), the others failures. It
// marks in state the outcome of each event.
func trackAll(ctx context.Context, bt BatchTracker, events []event.Event, index []int, provider string, items []*ItemError, state []outcome) ([]*ItemError, []error) {
	err := bt.TrackAll(ctx, events)
	if err == nil {
		for i := range state {
			state[i] = tracked
		}
		return items, nil
	}
	tes := connector.TrackErrors(err)
	joined := 1
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		joined = len(j.Unwrap())
	}
	if len(tes) != joined || slices.ContainsFunc(tes, func(te *connector.TrackError) bool { return te.Index < 0 || te.Index >= len(events) }) {
		// Not all about single events: none can be counted as tracked.
		return items, []error{fmt.Errorf("webhook: tracking %d events: %w", len(events), err)}
	}
	for i := range state {
		state[i] = tracked
	}
	var failed []error
	for _, te := range tes {
		ev := events[te.Index]
		if errors.As(te.Err, new(*event.ValidationError)) {
			state[te.Index] = rejected
			items = append(items, &ItemError{Provider: provider, Index: itemIndex(index, te.Index), ProviderEventID: ev.ID, Err: te.Err})
		} else {
			state[te.Index] = untracked
			failed = append(failed, fmt.Errorf("webhook: tracking event %q: %w", ev.ID, te.Err))
		}
	}
	return items, failed
}
