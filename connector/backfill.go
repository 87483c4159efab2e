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
// Due times already past are due at once (decisions say late); every
// decision it takes is marked Backfilled. Counting earlier interactions is
// never the default: a follow-up counts only interactions at or after its
// activation unless asked. It needs [WithInteractionLog]
// ([ErrNoInteractionLog]).
func Backfill(since time.Time) PublishOption {
	return func(c *publishConfig) { c.backfillSince = since }
}

// backfill replays the logged interactions of follow-up id since `since`.
func (e *Engine) backfill(ctx context.Context, id string, since time.Time) error {
	snap, err := e.current(ctx)
	if err != nil {
		return err
	}
	c := snap.campaign(id)
	if c == nil {
		return fmt.Errorf("%w %q", ErrUnknownCampaign, id)
	}
	q := store.InteractionQuery{Since: since, Until: c.ActivatedAt}
	for _, t := range c.Campaign.Triggers {
		q.Keys = append(q.Keys, store.InteractionKey{Kind: t.Kind, CampaignID: t.CampaignID})
	}
	for _, x := range c.Campaign.Exceptions {
		q.Keys = append(q.Keys, store.InteractionKey{Kind: x.Kind, CampaignID: x.CampaignID})
	}
	if len(q.Keys) == 0 {
		return nil
	}
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
	err = e.store.Interactions(ctx, e.cfg.namespace, q, func(ev event.Event) bool {
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
		replayErr = e.replay(ctx, snap, c, ev, since)
		return replayErr == nil
	})
	if err == nil {
		err = replayErr
	}
	return err
}

// replay applies one logged event to follow-up c alone.
func (e *Engine) replay(ctx context.Context, snap *snapshot, c *campaign, ev event.Event, since time.Time) error {
	now := e.cfg.clock.Now()
	t, err := e.prepareFor(ctx, snap, &ev, now, true, c, since)
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
