package connector

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// Stats counts what the engine's namespace holds in the store (campaigns,
// users, pending deliveries, logged interactions), for gauges and tests,
// and, in Events, what this engine did with the events handed to it since
// it was built ([Engine.EventCounts]).
func (e *Engine) Stats(ctx context.Context) (store.Stats, error) {
	if ctx == nil {
		return store.Stats{}, errNilContext("Stats")
	}
	s, err := e.store.Stats(ctx, e.cfg.namespace)
	if err != nil {
		return s, err
	}
	s.Events = e.EventCounts()
	return s, nil
}

// PendingCount returns how many pending deliveries the engine's namespace
// holds in the store, claimed or not: the Pending of [Engine.Stats], for
// less. It asks the store's [store.PendingCounter] when the store has one
// (every store of this repository does), which counts the pending
// deliveries only; otherwise it reads the store's Stats, which counts the
// campaigns, users and logged interactions too. For gauges read at every
// metric collection (otelconnector's pending deliveries).
func (e *Engine) PendingCount(ctx context.Context) (int64, error) {
	if ctx == nil {
		return 0, errNilContext("PendingCount")
	}
	if pc, ok := e.store.(store.PendingCounter); ok {
		return pc.PendingCount(ctx, e.cfg.namespace)
	}
	s, err := e.store.Stats(ctx, e.cfg.namespace)
	if err != nil {
		return 0, err
	}
	return s.Pending, nil
}

// EventCounts returns what this engine did with the events handed to
// Track and TrackAll since it was built: how many it took, how many no
// follow-up could use, the duplicates, and the ignored decisions by
// reason. The counts are this process's (each engine sharing a store
// counts its own) and cost no store call.
func (e *Engine) EventCounts() store.EventCounts {
	c := &e.counts
	var out store.EventCounts
	for i, r := range ignoredReasons {
		if n := c.ignored[i].Load(); n > 0 {
			if out.Ignored == nil {
				out.Ignored = make(map[rule.Reason]int64, len(ignoredReasons))
			}
			out.Ignored[r] = n
		}
	}
	out.Duplicates = c.duplicates.Load()
	out.Unheard = c.unheard.load()
	// Every tracked event is counted once, in one of three counters: the
	// sum of three counters that only grow never goes down from one call
	// to the next, nor does any part of it, while Tracks run.
	out.Tracked = out.Unheard + c.listened.Load() + out.Ignored[rule.ReasonUnknownCampaign]
	return out
}

// eventCounters are the engine's event counts. A tracked event is counted
// once, where it ends: it reached a follow-up (listened), named an
// unknown campaign (ignored), or neither (unheard). Only unheard is
// touched by an event nothing listens to: its cells keep Tracks on
// several cores off one cache line; the others move with a store write
// or an observer's decision, which cost far more than an atomic add.
type eventCounters struct {
	unheard    stripedCounter
	listened   atomic.Int64
	duplicates atomic.Int64
	ignored    [len(ignoredReasons)]atomic.Int64
}

// ignoredReasons index eventCounters.ignored.
var ignoredReasons = [...]rule.Reason{rule.ReasonUnknownCampaign, rule.ReasonBeforeTrigger, rule.ReasonAfterDue, rule.ReasonAfterSend}

const (
	ignoredUnknownCampaign = iota
	ignoredBeforeTrigger
	ignoredAfterDue
	ignoredAfterSend
)

// stripedCounter is a counter spread over cache lines, chosen by a hint
// the caller has at hand (a byte of the user ID): Tracks of different
// users on different cores mostly add to different lines.
type stripedCounter struct {
	cells [8]struct {
		n atomic.Int64
		_ [56]byte // one cell per 64-byte line
	}
}

func (c *stripedCounter) add(hint byte, n int64) { c.cells[hint&7].n.Add(n) }

func (c *stripedCounter) load() int64 {
	var sum int64
	for i := range c.cells {
		sum += c.cells[i].n.Load()
	}
	return sum
}

// countUnheard counts one tracked event of userID (not empty: validated)
// that reached no follow-up and names no unknown campaign.
func (e *Engine) countUnheard(userID string) {
	e.counts.unheard.add(userID[len(userID)-1], 1)
}

// CampaignPendingCount returns how many pending deliveries of follow-up
// campaignID the engine's namespace holds in the store (claimed or not),
// or limit when it holds limit or more: the store stops there
// ([store.CampaignPendingCounter]; SQLite and PostgreSQL read at most
// limit index entries), so that a dashboard counts a follow-up with a
// large backlog for a bounded cost.
//
// Errors: [ErrNotSupported] when the store does not implement
// [store.CampaignPendingCounter]; an error wrapping
// [store.ErrInvalidQuery] for a limit below 1 or a campaignID that is
// empty or not valid text; the store's error.
func (e *Engine) CampaignPendingCount(ctx context.Context, campaignID string, limit int64) (int64, error) {
	if ctx == nil {
		return 0, errNilContext("CampaignPendingCount")
	}
	pc, ok := e.store.(store.CampaignPendingCounter)
	if !ok {
		return 0, fmt.Errorf("%w: the store (%T) cannot count a follow-up's pending deliveries", ErrNotSupported, e.store)
	}
	return pc.CampaignPendingCount(ctx, e.cfg.namespace, campaignID, limit)
}
