package connector

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/store"
)

// ErrNoInteractionLog: a backfill needs the interaction log, which is off
// unless the engine is built with [WithInteractionLog].
var ErrNoInteractionLog = errors.New("connector: no interaction log (WithInteractionLog)")

// WithInteractionLog keeps every tracked event in the store for retention,
// so that publishing a follow-up can count interactions that happened
// before it ([Backfill]). Off by default: it costs a store write per
// event.
func WithInteractionLog(retention time.Duration) Option {
	return positive("interaction log retention", retention, func(cfg *config) *time.Duration { return &cfg.interactionLog })
}

// PublishOption changes what [Engine.Publish] does.
type PublishOption func(*publishConfig)

type publishConfig struct {
	backfillSince time.Time
}

// Backfill makes Publish count the interactions logged since the given
// time as if the follow-up had been active then: after the activation,
// the follow-up's triggers and exceptions found in the interaction log
// with times in [since, activation) are replayed in time order, for this
// follow-up only, skipping a provider's retries: an event ID is replayed
// once per user and dedup window, measured between the events' times.
// Then its exceptions logged at or after the activation are replayed
// against the deliveries the backfill scheduled, so that one tracked
// while the backfill ran cancels them as it would have.
// Due times already past are due at once (decisions say late); every
// decision it takes is marked Backfilled. Counting earlier interactions is
// never the default: a follow-up counts only interactions at or after its
// activation unless asked. It needs [WithInteractionLog]
// ([ErrNoInteractionLog]).
func Backfill(since time.Time) PublishOption {
	return func(c *publishConfig) { c.backfillSince = since }
}

// backfillPass is what a backfill replays: follow-up c's interactions,
// counting from since; in its tail, the exceptions tracked since the
// activation.
type backfillPass struct {
	c     *campaign
	since time.Time
	tail  bool
}

// backfill replays the logged interactions of follow-up id since `since`,
// then, in its tail, the exceptions logged at or after the activation:
// one tracked while the backfill ran, before it replayed the trigger
// whose wait the exception falls in, found nothing to cancel, and the
// follow-up counts it as if it had been active since `since`.
func (e *Engine) backfill(ctx context.Context, id string, since time.Time) error {
	snap, err := e.current(ctx)
	if err != nil {
		return err
	}
	c := snap.campaign(id)
	if c == nil {
		return fmt.Errorf("%w %q", ErrUnknownCampaign, id)
	}
	var exceptions []store.InteractionKey
	for _, x := range c.Campaign.Exceptions {
		exceptions = append(exceptions, store.InteractionKey{Kind: x.Kind, CampaignID: x.CampaignID})
	}
	q := store.InteractionQuery{Since: since, Until: c.ActivatedAt}
	for _, t := range c.Campaign.Triggers {
		q.Keys = append(q.Keys, store.InteractionKey{Kind: t.Kind, CampaignID: t.CampaignID})
	}
	q.Keys = append(q.Keys, exceptions...)
	if len(q.Keys) == 0 {
		return nil
	}
	if err := e.replayLog(ctx, snap, q, &backfillPass{c: c, since: since}); err != nil {
		return err
	}
	if len(exceptions) == 0 {
		return nil
	}
	tail := store.InteractionQuery{Since: c.ActivatedAt, Keys: exceptions}
	return e.replayLog(ctx, snap, tail, &backfillPass{c: c, since: since, tail: true})
}

// replayLog replays the logged interactions q selects for backfill pass
// bf, in time order.
func (e *Engine) replayLog(ctx context.Context, snap *snapshot, q store.InteractionQuery, bf *backfillPass) error {
	// The log keeps every event tracked, a provider's retries included. A
	// retry repeats its event, time and all: an event ID replayed for the
	// same user less than the dedup window after the copy replayed first,
	// by the events' times (the log keeps no arrival times, which tracking
	// measures the window from), is skipped. The log comes in time order,
	// so the IDs are forgotten once no later event can repeat them.
	type logged struct{ user, id string }
	replayed := make(map[logged]time.Time)
	window := e.cfg.dedupWindow
	var swept time.Time
	var replayErr error
	err := e.store.Interactions(ctx, e.cfg.namespace, q, func(ev event.Event) bool {
		if ev.ID != "" {
			k := logged{ev.UserID, ev.ID}
			if at, ok := replayed[k]; ok && ev.Time.Sub(at) < window {
				return true
			}
			replayed[k] = ev.Time
			if ev.Time.Sub(swept) >= window {
				for k, at := range replayed {
					if ev.Time.Sub(at) >= window {
						delete(replayed, k)
					}
				}
				swept = ev.Time
			}
		}
		replayErr = e.replay(ctx, snap, bf, ev)
		return replayErr == nil
	})
	if err == nil {
		err = replayErr
	}
	return err
}

// replay applies one logged event to the backfill's follow-up alone.
func (e *Engine) replay(ctx context.Context, snap *snapshot, bf *backfillPass, ev event.Event) error {
	now := e.cfg.clock.Now()
	t, err := e.prepareFor(ctx, snap, &ev, now, true, bf)
	if t == nil || err != nil {
		return err
	}
	defer t.release()
	if err := e.store.Update(ctx, e.cfg.namespace, ev.UserID, now, store.Dedup{}, t.apply); err != nil {
		return err
	}
	e.afterUpdate(t)
	return nil
}
