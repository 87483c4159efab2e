package connector

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/internal/nilval"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// Clock is what the engine needs of a clock. Both clock.New() and
// clock.NewMock() from github.com/benbjohnson/clock satisfy it; tests use
// the mock to move time by hand.
type Clock interface {
	Now() time.Time
	Timer(d time.Duration) *clock.Timer
}

// Option configures an [Engine]; pass options to [New], which fails with
// an error wrapping [ErrInvalidOption] when an option's value is out of
// range.
type Option func(*config) error

type config struct {
	clock         Clock
	namespace     string
	location      *time.Location
	observers     []Observer
	dedupWindow   time.Duration
	limits        event.Limits
	lease         time.Duration
	batch         int
	retry         RetryPolicy
	logMax        int
	logRetention  time.Duration
	pruneEvery    time.Duration
	pollInterval  time.Duration
	sendTimeout   time.Duration
	concurrency   int
	acceptStopped bool
	dedupAll      bool
	receiptKeep   time.Duration // 0: receipts are kept
	instrument    Instrumentation
	logger        *slog.Logger

	directory      Directory
	quiet          *QuietHours
	caps           []FrequencyCap
	capHorizon     time.Duration
	maxDeferral    time.Duration
	lateness       time.Duration
	maxTriggerAge  time.Duration
	maxTriggerLead time.Duration

	interactionLog time.Duration

	tallyRetention time.Duration // tallies.go
	noTallies      bool
}

// positive is an option that sets the duration field returns to d,
// rejecting d <= 0 as an invalid what.
func positive(what string, d time.Duration, field func(*config) *time.Duration) Option {
	return func(cfg *config) error {
		if d <= 0 {
			return errorf("%s must be positive, got %v", what, d)
		}
		*field(cfg) = d
		return nil
	}
}

func errorf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidOption}, args...)...)
}

func defaultConfig() config {
	return config{
		clock:       clock.New(),
		location:    time.UTC,
		dedupWindow: 72 * time.Hour,
		limits:      event.DefaultLimits,
		lease:       time.Minute,
		batch:       256,
		retry:       DefaultRetryPolicy,
		pruneEvery:  time.Minute,
		maxDeferral: 72 * time.Hour,
		concurrency: 256,
	}
}

// validate checks the options that depend on each other.
func (cfg *config) validate() error {
	if cfg.sendTimeout > 0 && cfg.lease <= cfg.sendTimeout {
		return errorf("lease (%v) must be longer than the send timeout (%v): a send would outlast the lease that keeps other engines from it; lengthen it with WithLease", cfg.lease, cfg.sendTimeout)
	}
	return nil
}

// RetryPolicy says how a failed send is retried, with the same delivery
// ID each time: attempt n (counting from 1) that fails is tried again
// after min(Base·2^(n-1), Max), randomly shortened by up to Jitter (a
// fraction in [0, 1]) so that retries of many deliveries spread out;
// after MaxAttempts attempts the delivery is recorded as failed.
//
// A delivery held back at send time by a failing [Directory] waits the
// same way, n counting its sends tried and its directory errors since
// the directory last answered, but at most 5 minutes, so that it goes out
// soon once the directory is back. MaxAttempts does not bound these
// retries: they go on until the maximum deferral past the due time
// ([WithMaxDeferral]).
//
// MaxAttempts must be at least 1, Base positive and at most Max, and
// Jitter in [0, 1]: [WithRetryPolicy] makes [New] fail with an error
// wrapping [ErrInvalidOption] otherwise. The zero RetryPolicy is not valid;
// start from [DefaultRetryPolicy].
type RetryPolicy struct {
	MaxAttempts int
	Base        time.Duration
	Max         time.Duration
	Jitter      float64
}

// DefaultRetryPolicy: 6 attempts, 30 s doubling to at most 1 h, 20 %
// jitter; a delivery is given up after about 15 minutes of failures.
var DefaultRetryPolicy = RetryPolicy{MaxAttempts: 6, Base: 30 * time.Second, Max: time.Hour, Jitter: 0.2}

func (r RetryPolicy) validate() error {
	if r.MaxAttempts < 1 || r.Base <= 0 || r.Max < r.Base || !(r.Jitter >= 0 && r.Jitter <= 1) { // NaN too
		return fmt.Errorf("%w: retry policy needs MaxAttempts ≥ 1, 0 < Base ≤ Max, 0 ≤ Jitter ≤ 1 (got %+v)", ErrInvalidOption, r)
	}
	return nil
}

// WithClock sets the engine's clock: every time the engine reads (event
// stamps, due times, leases) and every timer of Run comes from it.
// Defaults to clock.New() from github.com/benbjohnson/clock, the system's
// time; tests pass clock.NewMock() and move it by hand.
func WithClock(c Clock) Option {
	return func(cfg *config) error {
		if nilval.Is(c) { // New reads the clock at once: no nil pointer can serve
			return errorf("nil clock%s", nilType(c))
		}
		cfg.clock = c
		return nil
	}
}

// WithNamespace isolates the engine's campaigns, users, deliveries and
// events from engines with other namespaces on the same store (for hosts
// that serve several apps or tenants). Defaults to "".
func WithNamespace(ns string) Option {
	return func(cfg *config) error {
		if err := store.ValidateNamespace(ns); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidOption, err)
		}
		cfg.namespace = ns
		return nil
	}
}

// WithLocation sets the time zone used for a user the directory gives
// none (or with no directory): for calendar delays, send windows, quiet
// hours and calendar-day frequency caps. Defaults to UTC.
func WithLocation(loc *time.Location) Option {
	return func(cfg *config) error {
		if loc == nil {
			return fmt.Errorf("%w: nil location", ErrInvalidOption)
		}
		cfg.location = loc
		return nil
	}
}

// WithObserver adds an observer that receives every decision. Observers are
// called synchronously, in the goroutine that took the decision (Track,
// Tick, Publish…), after the state change is stored and outside any lock;
// they must be quick. A panic in an observer unwinds the call that took
// the decision; one during a send is repeated by Tick, or Run, on its
// caller's goroutine, without the observer's frames: recover in the
// observer to keep its stack. The option may be given several times.
func WithObserver(o Observer) Option {
	return func(cfg *config) error {
		if nilval.Func(o) {
			return errorf("nil observer%s", nilType(o))
		}
		cfg.observers = append(cfg.observers, o)
		return nil
	}
}

// WithDedupWindow sets how long processed event IDs are remembered (per
// user) to ignore provider retries. Defaults to 72 hours, the longest
// retry period of common mail providers. Must be positive.
func WithDedupWindow(d time.Duration) Option {
	return positive("dedup window", d, func(cfg *config) *time.Duration { return &cfg.dedupWindow })
}

// WithReceiptRetention makes the engine forget a receipt d after the send
// it records, so that users who stop interacting leave nothing behind. A
// receipt is never forgotten before its follow-up's re-eligibility window
// plus the dedup window have passed (a trigger stamped inside the window
// may be reported that late). The price: once forgotten, a receipt no
// longer holds the user back — a once-only follow-up can reach them again
// on a new trigger, and a trigger stamped before an old send is no longer
// recognised as such. Off by default: one receipt per user and follow-up
// received (24 bytes in memory) is kept for good. d must be positive.
func WithReceiptRetention(d time.Duration) Option {
	return positive("receipt retention", d, func(cfg *config) *time.Duration { return &cfg.receiptKeep })
}

// WithDedupAll remembers the ID of every event, even those no follow-up
// listens to, so that a provider's retry is ignored even if a follow-up it
// would trigger was published between the first delivery and the retry.
// Off by default: it costs a store write for every event with an ID, where
// an event nothing listens to otherwise costs a table look-up or two.
func WithDedupAll() Option {
	return func(cfg *config) error {
		cfg.dedupAll = true
		return nil
	}
}

// WithLimits sets the size limits events must respect. Defaults to
// [event.DefaultLimits]; a zero field disables that limit. Whatever the
// limits, identifiers stay capped at [event.MaxIDBytes] (1,024 bytes), the
// longest every store holds: a larger MaxIDLength, or a zero one, accepts
// identifiers up to that cap only.
func WithLimits(l event.Limits) Option {
	return func(cfg *config) error {
		if l.MaxIDLength < 0 || l.MaxProperties < 0 || l.MaxPropertyBytes < 0 || l.MaxDepth < 0 {
			return fmt.Errorf("%w: negative limit in %+v", ErrInvalidOption, l)
		}
		cfg.limits = l
		return nil
	}
}

// WithLease sets how long a claimed delivery is reserved for this engine
// before another engine may claim it: after a crash, a delivery whose send
// had started waits at most that long to be sent again. The last check
// before a send leaves the lease at least half its length, and while the
// send and the record of its outcome last, the engine renews any lease
// with half its length or less left, every quarter of it: a live engine
// keeps the deliveries it is sending, however long a send takes. A claimed
// delivery still waiting for a free send slot when its lease ends may be
// claimed by another engine; this one then skips it. The store calls that
// confirm, record and renew sends fail when they get no answer within
// about a lease (seven eighths of one at the least), so that a store that stops answering holds no send slot, nor
// Run's return, for ever. Keep the lease at least five times the store's
// slowest answer (12 s with the default minute): a renewal starts with a
// quarter of the lease left and may wait behind another call in
// progress, and one that lands after the lease ended lets another engine
// send the delivery again. The lease must be longer than the send timeout
// ([WithSendTimeout]). Defaults to 1 minute.
func WithLease(d time.Duration) Option {
	return positive("lease", d, func(cfg *config) *time.Duration { return &cfg.lease })
}

// WithBatchSize sets how many due deliveries one claim takes; the send
// slots share them. Defaults to 256. While sends in progress hold some
// of the slots, [Engine.Run] claims no more at a time than the slots left
// free.
func WithBatchSize(n int) Option {
	return func(cfg *config) error {
		if n < 1 {
			return fmt.Errorf("%w: batch size must be at least 1, got %d", ErrInvalidOption, n)
		}
		cfg.batch = n
		return nil
	}
}

// WithRetryPolicy sets how failed sends are retried. Defaults to
// [DefaultRetryPolicy].
func WithRetryPolicy(r RetryPolicy) Option {
	return func(cfg *config) error {
		if err := r.validate(); err != nil {
			return err
		}
		cfg.retry = r
		return nil
	}
}

// WithSendTimeout bounds each call of the sender: its context is cancelled
// after d. The sender's context does not end with the context given to
// Tick or Run: a send in progress when they end finishes, bounded by d
// alone (for a sender that returns once its context ends: the engine
// cannot stop one that ignores it), and its outcome is recorded. d must
// be shorter than the lease ([WithLease]). Defaults to no bound: a sender
// that never returns then holds its send slot, and Run's return at
// shutdown, for ever.
func WithSendTimeout(d time.Duration) Option {
	return positive("send timeout", d, func(cfg *config) *time.Duration { return &cfg.sendTimeout })
}

// WithSendConcurrency sets how many sends may be in progress at once: n
// in a Tick, and n in all for [Engine.Run], which sends what falls due
// beside slow sends, on the slots they leave free.
// Each of Tick's n send slots takes one delivery at a time through its
// last check, its send and the record of its outcome; a slot records a
// send in the same store call as the last check of its next delivery, and
// the slots in flight at the same time share their store calls. So at
// most n sends are repeated if the process dies, and the more slots, the
// fewer store calls per delivery when the sender is fast. Senders that
// wait on the network want more; providers that limit concurrent
// requests, fewer. With 1, each claimed batch ([WithBatchSize]) is sent in
// due order, which simulations and tests rely on; a store hands out
// batches roughly earliest first (the memory store visits its shards in
// turn), so a backlog larger than a batch may interleave. With more, two
// deliveries due together may go out in either order. Defaults to 256.
func WithSendConcurrency(n int) Option {
	return func(cfg *config) error {
		if n < 1 {
			return errorf("send concurrency must be at least 1, got %d", n)
		}
		cfg.concurrency = n
		return nil
	}
}

// WithDecisionLog keeps, per user, the last max decisions no older than
// retention in the store, for [Engine.Explain]. Off by default: the log
// costs a few hundred bytes per decision, and on a store that keeps a
// user's state in one row (SQLite, PostgreSQL) it is part of that row,
// written again at each of the user's events: a user with a long log
// costs more per event (on SQLite, a log of 200 decisions about 4.5 times
// the CPU of one of 20, for a user who fills it). A decision's Detail
// over 4 KiB (a sender's error quoting a whole reply) is kept clipped: its
// start and its end, which holds the engine's own words, with its full
// length in between; observers get it whole.
func WithDecisionLog(max int, retention time.Duration) Option {
	return func(cfg *config) error {
		if max < 1 || retention <= 0 {
			return fmt.Errorf("%w: decision log needs max ≥ 1 and a positive retention", ErrInvalidOption)
		}
		cfg.logMax, cfg.logRetention = max, retention
		return nil
	}
}

// WithPruneInterval sets how often Tick sweeps the store for expired state
// (remembered event IDs, receipts, decision log). Defaults to 1 minute of
// the engine's clock. Under [Engine.Run], Tick runs when something falls
// due or is tracked, at least once a minute while a delivery is pending,
// and every poll interval: an engine with nothing pending and no polling
// prunes at its next Tick.
func WithPruneInterval(d time.Duration) Option {
	return positive("prune interval", d, func(cfg *config) *time.Duration { return &cfg.pruneEvery })
}

// WithPollInterval makes Run look at the store at least every d, for
// deliveries scheduled by other engines on a store that cannot notify (see
// [store.Notifier]). Defaults to 0 (no polling) on stores that notify, and
// to 1 second on the others.
func WithPollInterval(d time.Duration) Option {
	return positive("poll interval", d, func(cfg *config) *time.Duration { return &cfg.pollInterval })
}

// WithStoppedOriginals makes follow-ups accept interactions with originals
// that are stopped (opens of mail sent before the stop keep coming). By
// default the original must be active. Drafts and archived
// originals never count.
func WithStoppedOriginals() Option {
	return func(cfg *config) error {
		cfg.acceptStopped = true
		return nil
	}
}

// Observer receives the engine's decisions; see [WithObserver].
type Observer interface {
	Observe(d rule.Decision)
}

// ObserverFunc adapts a function to [Observer].
type ObserverFunc func(d rule.Decision)

// Observe calls f(d).
func (f ObserverFunc) Observe(d rule.Decision) { f(d) }
