package connector

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/campaignconnector/campaignconnector/rule"
)

// WithLogger logs the engine's decisions and the problems nobody else sees
// to l, with structured attributes (decision, reason, campaign, user,
// event, event_kind, delivery, rule, detail, due_at, attempt). The levels
// follow what a host running the engine wants to read:
//
//   - Error: a delivery failed for good; a store error met by Run, or by
//     the background flush of the decision counts ([Engine.Tallies]) of an
//     engine without Run ("campaignconnector: track" or
//     "campaignconnector: tick").
//   - Warn: a send or directory failure to be retried; a hazard in the
//     definitions (warning decisions); an event naming a campaign the
//     engine does not know (ignored, unknown_campaign: a typo to fix, at
//     most one line per campaign ID a minute, the next line counting the
//     ones left out in "skipped"); deliveries overdue by more than a
//     minute while nothing sends them (a forgotten Run), once until
//     something ticks again; [Engine.Apply] resuming a stopped campaign.
//   - Info: a delivery; what [Engine.Apply] changed (each change, then a
//     summary); an event that did not do what its author meant
//     and that a host asks about ("why did nothing happen?"): an exception
//     that did not cancel because it fell outside the wait or came after
//     the send (ignored, before_trigger, after_due or after_send), a
//     trigger lost to timing or
//     configuration (suppressed, before_activation, original_not_active,
//     trigger_too_old, trigger_too_far_ahead, outside_duration), and a
//     pending delivery dropped at send time (suppressed by a send window,
//     quiet hours, a frequency cap or the audience re-check).
//   - Debug: the rest, the engine working as told: scheduled, cancelled,
//     duplicate, deferred, held out, converted, and triggers the follow-up's
//     own eligibility turns down (already_pending, not_reeligible,
//     not_in_audience, outside_send_window when scheduling). These come
//     with every event of a busy user, so at Info they would bury the
//     lines above.
//
// So an Info logger shows deliveries and every event that was lost, and
// Debug shows every decision. Without WithLogger no decision is logged,
// and the engine's own errors, which reach no caller (a store failing
// under [Engine.Run], counts that could not be flushed), go to
// [slog.Default] at Error.
func WithLogger(l *slog.Logger) Option {
	return func(cfg *config) error {
		if l == nil {
			return errorf("nil logger")
		}
		cfg.logger = l
		cfg.observers = append(cfg.observers, &logObserver{l: l})
		return nil
	}
}

// logLevel is the level of decision d (see WithLogger).
func logLevel(d *rule.Decision) slog.Level {
	switch d.Kind {
	case rule.Failed:
		return slog.LevelError
	case rule.Retried, rule.Warned:
		return slog.LevelWarn
	case rule.Ignored:
		if d.Reason == rule.ReasonUnknownCampaign {
			return slog.LevelWarn
		}
		return slog.LevelInfo
	case rule.Delivered, rule.Applied:
		return slog.LevelInfo
	case rule.Suppressed:
		if d.DeliveryID != "" { // at send time: a delivery the user waited for is dropped
			return slog.LevelInfo
		}
		switch d.Reason {
		case rule.ReasonBeforeActivation, rule.ReasonOriginalNotActive, rule.ReasonTriggerTooOld, rule.ReasonTriggerTooFarAhead, rule.ReasonOutsideDuration:
			return slog.LevelInfo
		}
	}
	return slog.LevelDebug
}

// unknownEvery is how often at most the logger reports events naming one
// unknown campaign; maxUnknownIDs bounds the campaign IDs it remembers for
// that (the IDs come from events: anyone who can send events picks them).
const (
	unknownEvery  = time.Minute
	maxUnknownIDs = 1024
)

type logObserver struct {
	l *slog.Logger

	mu      sync.Mutex
	unknown map[string]*unknownLine // by campaign ID; "" holds the IDs past maxUnknownIDs
	// oldest is no later than the time of every line in unknown: until a
	// minute after it no line can be stale, and a full map is not swept.
	oldest time.Time
}

// unknownLine is when events naming one unknown campaign were last logged,
// and how many were left out since.
type unknownLine struct {
	at      time.Time
	skipped int64
}

func (o *logObserver) Observe(d rule.Decision) {
	level := logLevel(&d)
	ctx := context.Background()
	if !o.l.Enabled(ctx, level) {
		return
	}
	var skipped int64
	if d.Kind == rule.Ignored && d.Reason == rule.ReasonUnknownCampaign {
		var ok bool
		if skipped, ok = o.admitUnknown(d.CampaignID, d.At); !ok {
			return
		}
	}
	attrs := make([]slog.Attr, 0, 13)
	attrs = append(attrs, slog.String("decision", string(d.Kind)))
	add := func(key, v string) {
		if v != "" {
			attrs = append(attrs, slog.String(key, v))
		}
	}
	add("reason", string(d.Reason))
	add("campaign", d.CampaignID)
	add("user", d.UserID)
	add("event", d.EventID)
	add("event_kind", string(d.EventKind))
	// A late event's stamp, as Explain gives it: a due time counts from
	// it, not from the line's time. A timely event's is left out.
	if !d.EventTime.IsZero() && !d.EventTime.Truncate(time.Second).Equal(d.At.Truncate(time.Second)) {
		attrs = append(attrs, slog.Time("event_time", d.EventTime))
	}
	add("delivery", d.DeliveryID)
	add("rule", d.Rule)
	add("detail", d.Detail)
	if !d.DueAt.IsZero() {
		attrs = append(attrs, slog.Time("due_at", d.DueAt))
	}
	if d.Attempt > 0 {
		attrs = append(attrs, slog.Int("attempt", d.Attempt))
	}
	if d.Backfilled {
		attrs = append(attrs, slog.Bool("backfilled", true))
	}
	if skipped > 0 {
		attrs = append(attrs, slog.Int64("skipped", skipped))
	}
	o.l.LogAttrs(ctx, level, "campaignconnector "+string(d.Kind), attrs...)
}

// admitUnknown reports whether an event naming unknown campaign id, at
// engine time at, is logged, and how many such events were left out since
// the last line for id.
func (o *logObserver) admitUnknown(id string, at time.Time) (skipped int64, ok bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.unknown == nil {
		o.unknown = make(map[string]*unknownLine)
	}
	line := o.unknown[id]
	if line == nil {
		// A flood of made-up IDs fills the map within the minute: a sweep
		// then would find nothing stale, and cost a walk of the map per
		// event under the lock.
		if len(o.unknown) >= maxUnknownIDs && at.Sub(o.oldest) >= unknownEvery {
			o.sweepUnknown(at)
		}
		if len(o.unknown) >= maxUnknownIDs {
			id = "" // too many IDs at once: they share one line a minute
			line = o.unknown[id]
		}
	}
	if line == nil {
		if len(o.unknown) == 0 || at.Before(o.oldest) {
			o.oldest = at
		}
		o.unknown[id] = &unknownLine{at: at}
		return 0, true
	}
	// A clock that went back does not hold the next line back.
	if since := at.Sub(line.at); since >= 0 && since < unknownEvery {
		line.skipped++
		return 0, false
	}
	skipped = line.skipped
	line.at, line.skipped = at, 0
	return skipped, true
}

// sweepUnknown forgets the lines last logged a minute or more before at,
// and sets oldest to the earliest line left.
func (o *logObserver) sweepUnknown(at time.Time) {
	o.oldest = time.Time{}
	for k, v := range o.unknown {
		switch {
		case at.Sub(v.at) >= unknownEvery:
			delete(o.unknown, k)
		case o.oldest.IsZero() || v.at.Before(o.oldest):
			o.oldest = v.at
		}
	}
}

// logError reports an error the caller cannot see (met by Run).
func (e *Engine) logError(msg string, err error) {
	l := e.cfg.logger
	if l == nil {
		// The engine's own errors have no caller to return to: without a
		// logger they go to the process's default one, as net/http's
		// server errors do, rather than nowhere.
		l = slog.Default()
	}
	l.LogAttrs(context.Background(), slog.LevelError, "campaignconnector: "+msg,
		slog.String("namespace", e.cfg.namespace), slog.Any("error", err))
}
