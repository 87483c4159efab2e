package webhook

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/internal/linetext"
)

// Sentinel errors. Parsers wrap them with the provider's name and the
// detail ("sendgrid: webhook: signature check failed: timestamp too old");
// test them with errors.Is.
var (
	// ErrSignature: the request is not proven to come from the provider —
	// the signature or secret is missing or wrong, was made with another
	// key, or its timestamp is outside the accepted window, or the token was
	// already used. [Handler] answers 401.
	ErrSignature = errors.New("webhook: signature check failed")
	// ErrPayload: the body (or a header the provider always sends) cannot
	// be read as the provider's format. [Handler] answers 400.
	ErrPayload = errors.New("webhook: malformed payload")
	// ErrControl marks a verified request that carries no events by design
	// but that the host may have to act on, such as an Amazon SNS
	// subscription confirmation. [Handler] answers 200 and passes the error
	// to the [WithErrorFunc] callback.
	ErrControl = errors.New("webhook: provider control message")
	// ErrMissingID: an item does not carry the campaign id or the user id
	// under the names of the [Mapping]. It comes inside an [*ItemError].
	ErrMissingID = errors.New("webhook: campaign or user id missing")
	// ErrBadItem: one item of a batch is malformed (a field of the wrong
	// type, an unreadable timestamp, no provider event id, an id that is
	// not valid UTF-8). It comes inside an [*ItemError]; the other items are
	// not affected.
	ErrBadItem = errors.New("webhook: malformed item")
	// ErrInvalidOption: an argument or option given to [NewHandler] or
	// to a provider's New cannot be used (a nil parser or tracker, an
	// empty or malformed key or token, a nil option, a value out of range,
	// options that do not go together, a required one left out). The
	// error that wraps it says which and why, as in "sendgrid: max age
	// must be positive, got 0s".
	ErrInvalidOption = errors.New("webhook: invalid option")
)

// Parser verifies that a request comes from the provider and turns its body
// into events. The sub-packages of webhook implement it, one per provider;
// implementations are safe for concurrent use.
//
// body is the whole request body: Parse must not read r.Body, and uses r
// only for its headers, URL and context.
//
// Parse returns either a request-level error, wrapping [ErrSignature] or
// [ErrPayload] (events is then nil), or the events of the batch together
// with nil or the join of one [*ItemError] per item that could not become
// an event ([ItemErrors] extracts them; the provider packages' text gives
// the first ten and how many more). A verified control message
// gets an error wrapping [ErrControl]. Any other error (a certificate that
// could not be fetched, say) is transient: the request may succeed later.
type Parser interface {
	Parse(r *http.Request, body []byte) ([]event.Event, error)
}

// IndexedParser is a [Parser] that also says which item of the provider's
// request each event comes from. The parsers of the provider sub-packages
// implement it. The [Handler] uses it to report an event the engine
// rejects under its item's index, the index the parser's own
// [*ItemError] values carry; with a plain Parser, the index of such an
// event is unknown (-1).
type IndexedParser interface {
	Parser
	// ParseIndexed is Parse that also returns, for each event, the
	// position of its item in the request: items[i] for events[i], as
	// [ItemError.Index] counts.
	ParseIndexed(r *http.Request, body []byte) (events []event.Event, items []int, err error)
}

// NamedParser is a [Parser] that names its provider, as its own
// [*ItemError] values do in [ItemError.Provider]. The parsers of the
// provider sub-packages implement it. The [Handler] uses the name for an
// event the engine rejects, so that every item of a request's error reads
// alike ("sendgrid: item 3 (id …): …"); with a plain Parser, such an item
// names no provider.
type NamedParser interface {
	Parser
	// Provider returns the provider's name: "sendgrid", "ses"…
	Provider() string
}

// ParserFunc adapts a function to [Parser].
type ParserFunc func(r *http.Request, body []byte) ([]event.Event, error)

// Parse calls f(r, body).
func (f ParserFunc) Parse(r *http.Request, body []byte) ([]event.Event, error) { return f(r, body) }

// Tracker receives the events; *connector.Engine implements it. Track
// returns nil for an event it has already seen (the ids the parsers give
// events are the providers' own, stable across retries), a
// [*event.ValidationError] for an event it rejects, and any other error
// when it could not process the event (a store failure: worth a retry).
type Tracker interface {
	Track(ctx context.Context, ev event.Event) error
}

// BatchTracker is a [Tracker] that also takes a payload's events in one
// call; *connector.Engine implements it with TrackAll, which costs less
// than one Track per event (with PostgreSQL, two round trips per 1,024
// events instead of two per event). The handler uses TrackAll when its
// tracker has it: its error must join a [*connector.TrackError] for each
// event it did not track, an error of any other kind failing them all.
type BatchTracker interface {
	Tracker
	TrackAll(ctx context.Context, events []event.Event) error
}

// TrackerFunc adapts a function to [Tracker].
type TrackerFunc func(ctx context.Context, ev event.Event) error

// Track calls f(ctx, ev).
func (f TrackerFunc) Track(ctx context.Context, ev event.Event) error { return f(ctx, ev) }

// Clock is what parsers need of a clock to judge a signature's age. Both
// clock.New() and clock.NewMock() from github.com/benbjohnson/clock
// satisfy it.
type Clock interface {
	Now() time.Time
}

// SystemClock is the default [Clock] of the webhook packages' parsers:
// the system's wall clock, read with time.Now. Tests pass a mock clock
// instead, through the parsers' WithClock options.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// Default metadata names of a [Mapping].
const (
	DefaultCampaignKey = "campaign_id"
	DefaultUserKey     = "user_id"
)

// Mapping names the provider metadata fields that carry the campaign id and
// the user id: the SendGrid custom args, Mailgun user variables, Postmark
// Metadata keys, SES message tags or Twilio callback URL query parameters
// the host sets on every message it sends. Empty fields take the defaults,
// [DefaultCampaignKey] and [DefaultUserKey], so the zero Mapping is ready to
// use.
type Mapping struct {
	CampaignKey string
	UserKey     string
}

// Keys returns the campaign and user field names, defaults applied.
func (m Mapping) Keys() (campaignKey, userKey string) {
	campaignKey, userKey = m.CampaignKey, m.UserKey
	if campaignKey == "" {
		campaignKey = DefaultCampaignKey
	}
	if userKey == "" {
		userKey = DefaultUserKey
	}
	return campaignKey, userKey
}

// Validate reports a mapping no parser can use, defaults applied: one
// that reads the campaign id and the user id from the same field (every
// event's campaign would be its user), or a key that is not valid UTF-8
// or holds a NUL byte (no payload can carry it). The parsers' WithMapping
// options call it.
func (m Mapping) Validate() error {
	ck, uk := m.Keys()
	if ck == uk {
		return fmt.Errorf("webhook: mapping: the campaign and the user keys are both %q: the campaign id would be the user id", ck)
	}
	for _, k := range [...]struct{ name, key string }{{"campaign", ck}, {"user", uk}} {
		if !utf8.ValidString(k.key) || strings.IndexByte(k.key, 0) >= 0 {
			return fmt.Errorf("webhook: mapping: the %s key %q is not valid UTF-8 without NUL bytes: no payload can carry it", k.name, k.key)
		}
	}
	return nil
}

// Resolve looks the campaign and user ids up with get, which returns the
// value of one metadata field ("" when absent). An absent or empty id is an
// error wrapping [ErrMissingID] that names the field.
func (m Mapping) Resolve(get func(key string) string) (campaignID, userID string, err error) {
	ck, uk := m.Keys()
	campaignID, userID = get(ck), get(uk)
	switch {
	case campaignID == "" && userID == "":
		err = fmt.Errorf("%w: no %q nor %q", ErrMissingID, ck, uk)
	case campaignID == "":
		err = fmt.Errorf("%w: no %q", ErrMissingID, ck)
	case userID == "":
		err = fmt.Errorf("%w: no %q", ErrMissingID, uk)
	}
	return campaignID, userID, err
}

// ItemError reports one item of a provider's batch that could not become
// an event. Err wraps [ErrMissingID] or [ErrBadItem] when the parser found
// the problem, or the [Tracker]'s error (a [*event.ValidationError]) when
// the engine rejected the event.
type ItemError struct {
	// Provider names the parser: "sendgrid", "ses"…; for an event the
	// engine rejected, the [Handler] takes it from a [NamedParser], and
	// leaves it empty for another parser.
	Provider string
	// Index is the item's position in the provider's batch (0 for
	// providers that send one item per request), or -1 when unknown: for
	// an event the engine rejected, when the parser is not an
	// [IndexedParser].
	Index int
	// ProviderEventID is the provider's id of the item, when it has one.
	ProviderEventID string
	// Err is what is wrong.
	Err error
}

// Error implements error: `sendgrid: item 2 (id "x"): webhook: campaign or
// user id missing: no "user_id"`. An id over [event.MaxIDBytes], which no
// store keeps, is quoted up to that length and its size given
// (`(id "abc…" of 400000 bytes)`), so that a hostile payload's id does
// not fill the log.
func (e *ItemError) Error() string {
	s := fmt.Sprintf("item %d", e.Index)
	if e.Provider != "" {
		s = e.Provider + ": " + s
	}
	if id := e.ProviderEventID; len(id) > event.MaxIDBytes {
		s += fmt.Sprintf(" (id %q of %d bytes)", clipID(id)+"…", len(id))
	} else if id != "" {
		s += fmt.Sprintf(" (id %q)", id)
	}
	return s + ": " + fmt.Sprint(e.Err)
}

// clipID returns id, cut to at most [event.MaxIDBytes] bytes at the start
// of a UTF-8 sequence.
func clipID(id string) string { return linetext.Clip(id, event.MaxIDBytes) }

// Unwrap returns Err.
func (e *ItemError) Unwrap() error { return e.Err }

// ItemErrors returns the [*ItemError] values joined in err (looking through
// errors.Join trees, not into other wrappers), or nil.
func ItemErrors(err error) []*ItemError {
	items, _ := split(err)
	return items
}

// split separates the item errors joined in err from the rest, which it
// joins again (nil when there is none). It only takes apart multi-error
// wrappers that hold item errors, so that fmt.Errorf("%w: %w", …) stays
// whole.
func split(err error) (items []*ItemError, rest error) {
	var others []error
	var walk func(error)
	walk = func(err error) {
		if ie, ok := err.(*ItemError); ok {
			items = append(items, ie)
			return
		}
		if j, ok := err.(interface{ Unwrap() []error }); ok && holdsItems(err) {
			for _, x := range j.Unwrap() {
				walk(x)
			}
			return
		}
		if err != nil {
			others = append(others, err)
		}
	}
	walk(err)
	return items, errors.Join(others...)
}

// holdsItems reports whether err is, or joins, an item error.
func holdsItems(err error) bool {
	switch e := err.(type) {
	case *ItemError:
		return true
	case interface{ Unwrap() []error }:
		for _, x := range e.Unwrap() {
			if holdsItems(x) {
				return true
			}
		}
	}
	return false
}
