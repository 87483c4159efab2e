package connector

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/campaignconnector/campaignconnector/rule"
)

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
	return e.sender.Send(ctx, d)
}

// receiptExpiry is when a receipt stops mattering: after the
// re-eligibility window, or never for once-only follow-ups (and unknown ones).
func receiptExpiry(c *rule.Campaign, at time.Time) time.Time {
	if c != nil {
		if w, ok := c.Reeligibility.Window(); ok {
			return at.Add(w)
		}
	}
	return time.Time{}
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

// maybePrune sweeps expired state at most once per prune interval.
func (e *Engine) maybePrune(ctx context.Context, now time.Time) error {
	last := e.lastPrune.Load()
	if now.UnixNano()-last < int64(e.cfg.pruneEvery) || !e.lastPrune.CompareAndSwap(last, now.UnixNano()) {
		return nil
	}
	logBefore := now
	if e.cfg.logMax > 0 {
		logBefore = now.Add(-e.cfg.logRetention)
	}
	if _, err := e.store.Prune(ctx, e.cfg.namespace, now, logBefore); err != nil {
		return fmt.Errorf("connector: tick: pruning: %w", err)
	}
	return nil
}
