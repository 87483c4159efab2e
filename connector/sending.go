package connector

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// ErrPermanent marks a send error that no retry can fix: the address does
// not exist, the provider refused the message for good, the device token
// was revoked. A [Sender] returns it wrapped (with [Permanent], or
// fmt.Errorf("%w: …", ErrPermanent)), and the engine records the delivery
// as failed at once, without the retries of its [RetryPolicy].
var ErrPermanent = errors.New("connector: permanent send failure")

// Permanent returns err marked as permanent ([ErrPermanent]): a [Sender]
// returning it is not retried. Its text is err's; errors.Is and errors.As
// see both err and ErrPermanent. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

type permanentError struct{ err error }

func (e *permanentError) Error() string   { return e.err.Error() }
func (e *permanentError) Unwrap() []error { return []error{e.err, ErrPermanent} }

// callSender calls the sender, turning a panic into an error.
func (e *Engine) callSender(ctx context.Context, d Delivery) (err error) {
	if in := e.cfg.instrument; in != nil {
		var end func(error)
		ctx, end = in.StartSend(ctx, d)
		defer func() { end(err) }()
	}
	if e.cfg.sendTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, e.cfg.sendTimeout)
		defer cancel()
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", ErrSenderPanic, r)
		}
	}()
	return sendError(e.sender.Send(ctx, d))
}

// sendError returns err, a sender's, or, when its methods the engine calls
// panic (a nil *T returned as an error, whose Error reads a field), an
// [ErrSenderPanic] saying so: the engine reads the error's text and looks
// for [ErrPermanent] in it while it stores the send's outcome, where a
// panic would stop the Tick.
func sendError(err error) (checked error) {
	if err == nil {
		return nil
	}
	defer func() {
		if r := recover(); r != nil {
			checked = fmt.Errorf("%w: the error it returned, a %T, panicked: %v", ErrSenderPanic, err, r)
		}
	}()
	_ = err.Error()
	_ = errors.Is(err, ErrPermanent)
	return err
}

// receiptExpiry is when the receipt of c's send at `at` may be forgotten:
// never by default. Even past the re-eligibility window, a trigger reported
// late but stamped inside it must find the receipt (the user received the
// follow-up within the window before that trigger), and a
// provider's retry of an old trigger, past the dedup window, must not send
// again. A user keeps one receipt (24 bytes in memory) per follow-up
// received, unless WithReceiptRetention bounds it.
func (e *Engine) receiptExpiry(c *rule.Campaign, at time.Time) time.Time {
	keep := e.cfg.receiptKeep
	if keep == 0 {
		return time.Time{}
	}
	if c == nil { // the campaign is gone from this engine's view: keep the receipt longer
		return at.Add(addDurations(keep, e.cfg.dedupWindow))
	}
	if w, ok := c.Reeligibility.Window(); ok {
		keep = max(keep, addDurations(w, e.cfg.dedupWindow))
	}
	return at.Add(keep)
}

// addDurations returns a+b for non-negative a and b, saturating at the
// longest time.Duration rather than wrapping to a negative one: a
// retention or dedup window of "for ever" (math.MaxInt64) stays that.
func addDurations(a, b time.Duration) time.Duration {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// setReceipt records in u the receipt of a send of campaignID at `at`
// (c is its campaign, nil when gone from this engine's view), unless u
// holds a later one of that follow-up. Two sends of one follow-up to one
// user (AllowParallel deliveries on two slots or two engines) may have
// their records stored in either order: a record's call may fail and be
// retried, or its engine be slower. The receipt stays the later send's,
// whole: its time and the expiry its record computed, even when that
// expiry is the earlier of the two (the follow-up's re-eligibility window
// was shortened between the records): the receipt is the one the records
// leave when stored in the order of their sends, and its expiry follows
// its time. A receipt at the same time is replaced, as SetReceipt does.
func (e *Engine) setReceipt(u *store.UserState, campaignID string, c *rule.Campaign, at time.Time) {
	if r, ok := u.Receipt(campaignID); ok && r.At.After(at) {
		return
	}
	u.SetReceipt(store.Receipt{CampaignID: campaignID, At: at, Expires: e.receiptExpiry(c, at)})
}

// backoff returns the wait after failed attempt n (from 1).
func (r RetryPolicy) backoff(n int) time.Duration {
	d := r.Base
	for i := 1; i < n && d < r.Max; i++ {
		d *= 2
	}
	d = min(d, r.Max)
	if r.Jitter > 0 {
		d -= time.Duration(rand.Float64() * r.Jitter * float64(d))
	}
	return max(d, time.Millisecond)
}

// newToken returns a random non-zero claim token.
func newToken() uint64 {
	for {
		if t := rand.Uint64(); t != 0 {
			return t
		}
	}
}

// maybePrune sweeps expired state once a prune interval has passed since
// the last sweep, or at once if the clock went back (a step of the system
// clock): measured from a sweep stamped later than now, the interval
// would not pass until the clock caught up again, and what expires in the
// meantime would be kept.
func (e *Engine) maybePrune(ctx context.Context, now time.Time) error {
	last := e.lastPrune.Load()
	if since := now.UnixNano() - last; since >= 0 && since < int64(e.cfg.pruneEvery) {
		return nil
	}
	if !e.lastPrune.CompareAndSwap(last, now.UnixNano()) {
		return nil // another Tick sweeps
	}
	logBefore := now
	if e.cfg.logMax > 0 {
		logBefore = now.Add(-e.cfg.logRetention)
	}
	if _, err := e.store.Prune(ctx, e.cfg.namespace, now, logBefore); err != nil {
		return fmt.Errorf("connector: tick: pruning: %w", cutShort(ctx, err))
	}
	return e.pruneTallies(ctx, now)
}
