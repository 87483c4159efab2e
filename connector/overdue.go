package connector

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/campaignconnector/campaignconnector/rule"
)

// overdueAfter is how late the earliest pending delivery may be before the
// engine says that nothing sends deliveries: more than a Tick under load
// or a store outage of a few seconds ever delays one.
const overdueAfter = time.Minute

// overdue returns the warning of deliveries overdue at now, if any: the
// store's earliest ready time, whichever engine scheduled it, is what
// tells, as the engines of several processes may share the namespace and
// any of them may be the one that runs Run.
func (e *Engine) overdue(ctx context.Context, now time.Time) (*Warning, error) {
	next, ok, err := e.store.NextDue(ctx, e.cfg.namespace)
	if err != nil || !ok || now.Sub(next) <= overdueAfter {
		return nil, err
	}
	return &Warning{Reason: rule.ReasonOverdueDeliveries, Detail: fmt.Sprintf(
		"the earliest pending delivery was due at %s, %s ago, and nothing sent it: run Engine.Run (or call Engine.Tick on a schedule) in one process at least",
		stamp(next), now.Sub(next).Truncate(time.Second))}, nil
}

// watchTicks logs, once at Warn, that deliveries are overdue while
// nothing ticks. Track calls it with the time it read: it costs a load
// and a comparison, except once a minute (of the engine's clock), when
// one Track asks the store for its next due time, and not even that while
// this engine runs Run or was ticked in the last minute. The warning is
// logged again only after a Tick, or a look that found nothing overdue.
func (e *Engine) watchTicks(ctx context.Context, now time.Time) {
	if e.cfg.logger == nil {
		return
	}
	n, last := now.UnixNano(), e.tickWatch.Load()
	if since := n - last; since >= 0 && since < int64(overdueAfter) {
		return
	}
	if !e.tickWatch.CompareAndSwap(last, n) {
		return // another Track looks
	}
	if e.running.Load() || n-e.lastTick.Load() < int64(overdueAfter) {
		return
	}
	w, err := e.overdue(ctx, now)
	if err != nil || w == nil {
		e.overdueLogged.Store(false)
		return
	}
	if e.overdueLogged.Swap(true) {
		return
	}
	e.cfg.logger.LogAttrs(ctx, slog.LevelWarn, "campaignconnector: deliveries are overdue and nothing sends them",
		slog.String("namespace", e.cfg.namespace), slog.String("reason", string(rule.ReasonOverdueDeliveries)), slog.String("detail", w.Detail))
}
