package connector

import (
	"context"
	"time"

	"github.com/campaignconnector/campaignconnector/store"
)

// Run sends deliveries as they fall due until ctx ends, then returns nil.
// It keeps a single timer armed for the earliest due time (never one timer
// per delivery), is woken at once when Track schedules something earlier,
// and, on stores that implement [store.Notifier], when another engine
// does; on other stores it also looks every poll interval
// ([WithPollInterval]).
//
// A send in progress when ctx ends finishes (bound it with
// [WithSendTimeout]) and its outcome is recorded; Run leaves no goroutine
// behind. Store errors do not stop Run: it waits for the retry policy's
// base delay and tries again. Only one Run per engine may be active
// ([ErrAlreadyRunning]).
func (e *Engine) Run(ctx context.Context) error {
	if !e.running.CompareAndSwap(false, true) {
		return ErrAlreadyRunning
	}
	defer e.running.Store(false)
	var notified <-chan struct{}
	if n, ok := e.store.(store.Notifier); ok {
		ch, stop := n.Notify(e.cfg.namespace)
		defer stop()
		notified = ch
	}
	defer e.armed.Store(minInt64) // nobody to wake: scheduling Tracks need not signal
	for {
		if ctx.Err() != nil {
			return nil
		}
		wait, err := e.runOnce(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			e.logError("run", err)
			wait = e.cfg.retry.Base
		}
		if wait == 0 {
			continue
		}
		if !e.sleep(ctx, wait, notified) {
			return nil
		}
	}
}

// runOnce ticks and returns how long Run may sleep: until the next due
// delivery, at most the poll interval, -1 meaning "until woken".
func (e *Engine) runOnce(ctx context.Context) (time.Duration, error) {
	// Until the timer is armed, any Track that schedules wakes us: what it
	// scheduled may have missed this Tick and the NextDue below.
	e.armed.Store(maxInt64)
	if _, err := e.Tick(ctx); err != nil {
		return 0, err
	}
	next, ok, err := e.store.NextDue(ctx, e.cfg.namespace)
	if err != nil {
		return 0, err
	}
	wait := time.Duration(-1)
	if ok {
		wait = max(next.Sub(e.cfg.clock.Now()), 0)
	}
	if p := e.cfg.pollInterval; p > 0 && (wait < 0 || wait > p) {
		wait = p
	}
	return wait, nil
}

// sleep waits for d (forever when d < 0), a wake-up, or the end of ctx,
// which it reports as false.
func (e *Engine) sleep(ctx context.Context, d time.Duration, notified <-chan struct{}) bool {
	var timerC <-chan time.Time
	if d > 0 {
		t := e.cfg.clock.Timer(d)
		defer t.Stop()
		timerC = t.C
		at := e.cfg.clock.Now().Add(d)
		e.armed.Store(at.UnixNano())
		if e.armedHook != nil {
			e.armedHook(at)
		}
	} else {
		e.armed.Store(maxInt64)
		if e.armedHook != nil {
			e.armedHook(time.Time{})
		}
	}
	select {
	case <-ctx.Done():
		return false
	case <-timerC:
	case <-e.wake:
	case <-notified:
	}
	return true
}
