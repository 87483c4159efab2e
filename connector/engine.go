// Package connector is the engine: it evaluates events against campaign
// rules, keeps pending deliveries in a [store.Store], and hands due
// deliveries to the host's [Sender].
//
// A host builds one [Engine] per process (or several on one store), saves
// and publishes campaigns (or applies the set it defines in code with
// [Engine.Apply] at every start), calls [Engine.Track] for every event its
// providers report ([Engine.TrackAll] for a batch of them), and runs
// [Engine.Run] (or calls [Engine.Tick] on its own schedule) to send what
// falls due. The module's documentation (go doc
// github.com/campaignconnector/campaignconnector) tells the whole story.
//
// Sends go through send slots ([WithSendConcurrency], 256 by default):
// each takes one delivery at a time, checks it once more under the user's
// lock right before the send, and records the outcome right after. So a
// delivery is sent at least once, and a crash repeats at most the sends in
// flight, one per slot, with the same [Delivery.ID]; see [Engine.Tick].
package connector

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/internal/nilval"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// Errors returned by the engine. Validation problems come as
// [*rule.ValidationError] (the same type as [*event.ValidationError]).
var (
	// ErrUnknownCampaign: no campaign with that ID exists, or a trigger or
	// exception names a campaign the engine does not know.
	ErrUnknownCampaign = errors.New("connector: unknown campaign")
	// ErrInvalidTransition is [rule.ErrInvalidTransition]: the lifecycle
	// does not allow the requested change (publishing an active campaign,
	// stopping a draft, anything on an archived campaign).
	ErrInvalidTransition = rule.ErrInvalidTransition
	// ErrInvalidOption: New was given a nil store or sender, a nil
	// option or an option out of range.
	ErrInvalidOption = errors.New("connector: invalid option")
	// ErrAlreadyRunning: Run was called while another Run of the same
	// engine is active.
	ErrAlreadyRunning = errors.New("connector: Run already active")
	// ErrSenderPanic wraps the value a panicking sender raised; the engine
	// treats the panic as a send error.
	ErrSenderPanic = errors.New("connector: sender panicked")
	// ErrNilContext: an Engine method was given a nil context, where
	// context.Background() or a request's context belongs.
	ErrNilContext = errors.New("connector: nil context")
)

// errNilContext is the error of the Engine method named method given a nil
// context, which would otherwise panic deep in the store or the
// instrumentation.
func errNilContext(method string) error {
	return fmt.Errorf("%w given to %s (pass context.Background() or the request's context)", ErrNilContext, method)
}

// Delivery is the engine's instruction to the host: send follow-up
// CampaignID to UserID now. Each Send gets a Delivery of its own: the
// sender may keep it and change it (its Trigger's properties and its
// Message included) without changing what the engine stores or sends
// later.
type Delivery struct {
	// ID is stable across retries and restarts: hosts deduplicate on it
	// (delivery is at least once).
	ID         string
	CampaignID string
	UserID     string
	// Channel is the follow-up's channel ([rule.Campaign.Channel]).
	Channel event.Channel
	// Trigger is the event that scheduled the delivery. Its property
	// values come back as the store keeps them: the memory store's as the
	// event carried them, SQLite's and PostgreSQL's as JSON decodes them,
	// numbers as json.Number.
	Trigger event.Event
	// DueAt is when the delivery fell due.
	DueAt time.Time
	// Attempt counts from 1.
	Attempt int
	// Message is the follow-up's message as it is now (an edit made while
	// the delivery waited applies).
	Message json.RawMessage
}

// Sender sends deliveries; the host implements it with its mail, push or
// SMS transport. A nil error means the provider accepted the message: the
// user has received it. An error is retried per the engine's
// [RetryPolicy], unless it wraps [ErrPermanent] (see [Permanent]): then
// the delivery fails at once. Send may be called again with the same Delivery.ID after
// the process died during the send or before its outcome was recorded
// (the sends in progress then, at most the send concurrency), so
// implementations should deduplicate on it. ctx does not end with the
// context given to Tick or Run; [WithSendTimeout] bounds it. Send is called
// from several goroutines at once unless the send concurrency is 1.
type Sender interface {
	Send(ctx context.Context, d Delivery) error
}

// SenderFunc adapts a function to [Sender].
type SenderFunc func(ctx context.Context, d Delivery) error

// Send calls f(ctx, d).
func (f SenderFunc) Send(ctx context.Context, d Delivery) error { return f(ctx, d) }

// Engine evaluates events against campaigns and sends due deliveries. It is
// safe for concurrent use: Track, Tick, Save and the lifecycle methods may
// be called from many goroutines, and several engines (in one process or
// many) may share one store. Make one with [New]: the zero Engine has no
// store or sender, and its methods panic.
type Engine struct {
	cfg    config
	store  store.Store
	sender Sender

	snap      atomic.Pointer[snapshot]
	snapToken chan struct{} // holds a token while a rebuild of the snapshot is under way (snapshot.go)

	observed  bool          // someone wants decisions: observers or the decision log
	tallies   *tallyBook    // nil: the engine counts no decisions (tallies.go)
	wake      chan struct{} // Run's wake-up: something may be due earlier
	armed     atomic.Int64  // Unix ns Run's timer fires at; maxInt64 when Run sleeps without one; minInt64 when Run is not running (nobody to wake)
	running   atomic.Bool
	lastPrune atomic.Int64
	counts    eventCounters
	unknown   recentUnknown  // the campaign IDs unknown campaigns were named by
	failures  recentFailures // the latest failed attempts (failures.go)
	sending   inFlight       // the sends in progress, of every Tick (courier_in_flight.go)
	// The outcomes of sends whose record the store never took
	// (courier_unrecorded.go).
	unrecorded unrecorded

	// For watchTicks: when a Tick last started, and when a Track last
	// looked for overdue deliveries (Unix ns), and whether it logged them.
	lastTick      atomic.Int64
	tickWatch     atomic.Int64
	overdueLogged atomic.Bool
}

// New returns an engine on store s that hands due deliveries to send.
// It reads the store's campaigns at once, so an engine started on a store
// another engine filled resumes exactly where that one stopped.
//
// A nil send is refused. A nil pointer is accepted (its Send may work on a
// nil receiver), and so is a nil SenderFunc, for engines that never send
// (one serving Explain or a dashboard): if an engine with a nil SenderFunc
// ticks, each send it attempts fails as a panicking sender and is retried.
//
// Errors: an error wrapping [ErrInvalidOption] for a nil store or sender,
// a nil option or an option out of range (every bad option's, joined);
// the store's error reading the campaigns, wrapped. New takes no context:
// that read runs with context.Background(), for as long as the store
// takes to answer.
func New(s store.Store, send Sender, opts ...Option) (*Engine, error) {
	if nilval.Is(s) {
		return nil, errorf("nil store%s", nilType(s))
	}
	if send == nil {
		// A nil SenderFunc or pointer is let through: engines that never
		// send (one serving Explain or a dashboard) are built with one.
		return nil, errorf("nil sender")
	}
	cfg := defaultConfig()
	var errs []error
	for _, o := range opts {
		if o == nil {
			errs = append(errs, fmt.Errorf("%w: nil option", ErrInvalidOption))
			continue
		}
		errs = append(errs, o(&cfg))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.pollInterval == 0 {
		if _, ok := s.(store.Notifier); !ok {
			cfg.pollInterval = time.Second
		}
	}
	e := &Engine{cfg: cfg, store: s, sender: send, wake: make(chan struct{}, 1), snapToken: make(chan struct{}, 1)}
	tallies, err := newTallyBook(s, &e.cfg)
	if err != nil {
		return nil, err
	}
	e.tallies = tallies
	e.observed = len(cfg.observers) > 0 || cfg.logMax > 0
	e.armed.Store(minInt64)
	born := cfg.clock.Now().UnixNano()
	e.lastPrune.Store(born)
	e.lastTick.Store(born)
	e.tickWatch.Store(born)
	if _, err := e.refresh(context.Background(), -1); err != nil {
		return nil, fmt.Errorf("connector: reading campaigns: %w", err)
	}
	return e, nil
}

const (
	maxInt64 = 1<<63 - 1
	minInt64 = -1 << 63
)

// Namespace returns the engine's namespace.
func (e *Engine) Namespace() string { return e.cfg.namespace }

// Lease returns how long a delivery this engine claims stays its own
// without a renewal ([WithLease]). Replicas whose clocks are a quarter of
// it apart can send a delivery twice: the dashboard flags a clock skew
// ([Engine.ClockSkew]) against it.
func (e *Engine) Lease() time.Duration { return e.cfg.lease }

// Now returns the engine clock's current time.
func (e *Engine) Now() time.Time { return e.cfg.clock.Now() }

// nilType names the type of the nil value v holds, for the error that
// refuses it: " (a nil connector.SenderFunc)", or "" for a nil interface.
func nilType(v any) string {
	if v == nil {
		return ""
	}
	return fmt.Sprintf(" (a nil %T)", v)
}
