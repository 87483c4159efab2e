package dashboard

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/store"
)

// outageStore is a memory store with decision tallies and a server clock
// (the engine's mock clock) that, once down, answers every call with
// down's answer instead: an error, or a wait for the call's context to
// end, as a database that stopped answering does. Each method asks down
// itself, so that no call of the interfaces the engine uses gets through.
type outageStore struct {
	mem  *store.Memory
	clk  *clock.Mock
	out  *atomic.Bool
	down func(ctx context.Context) error
}

// errStoreDown is an outage's error: the address and user of the
// database, and markup, none of which a page shows.
var errStoreDown = errors.New(`dial tcp 10.0.0.7:5432: password authentication failed for user "cc_app" ` + hostile)

// failingOutage is an outageStore that fails every call with errStoreDown
// while out is set.
func failingOutage(clk *clock.Mock) outageStore {
	return outageStore{mem: store.NewMemory(), clk: clk, out: new(atomic.Bool),
		down: func(context.Context) error { return errStoreDown }}
}

// hungOutage is an outageStore whose every call, while out is set, waits
// for its context to end and returns the context's error.
func hungOutage(clk *clock.Mock) outageStore {
	return outageStore{mem: store.NewMemory(), clk: clk, out: new(atomic.Bool),
		down: func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }}
}

// failed returns down's answer while the store is out, nil otherwise.
func (s outageStore) failed(ctx context.Context) error {
	if s.out.Load() {
		return s.down(ctx)
	}
	return nil
}

func (s outageStore) Campaigns(ctx context.Context, ns string) (int64, []store.CampaignRecord, error) {
	if err := s.failed(ctx); err != nil {
		return 0, nil, err
	}
	return s.mem.Campaigns(ctx, ns)
}

func (s outageStore) Revision(ctx context.Context, ns string) (int64, error) {
	if err := s.failed(ctx); err != nil {
		return 0, err
	}
	return s.mem.Revision(ctx, ns)
}

func (s outageStore) UpdateCampaign(ctx context.Context, ns, id string, fn func(*store.CampaignRecord, bool) error) (store.CampaignRecord, error) {
	if err := s.failed(ctx); err != nil {
		return store.CampaignRecord{}, err
	}
	return s.mem.UpdateCampaign(ctx, ns, id, fn)
}

func (s outageStore) CancelCampaign(ctx context.Context, ns, id string) ([]store.Claim, error) {
	if err := s.failed(ctx); err != nil {
		return nil, err
	}
	return s.mem.CancelCampaign(ctx, ns, id)
}

func (s outageStore) Update(ctx context.Context, ns, userID string, now time.Time, dedup store.Dedup, fn func(*store.UserState, bool)) error {
	if err := s.failed(ctx); err != nil {
		return err
	}
	return s.mem.Update(ctx, ns, userID, now, dedup, fn)
}

func (s outageStore) User(ctx context.Context, ns, userID string) (store.UserState, error) {
	if err := s.failed(ctx); err != nil {
		return store.UserState{}, err
	}
	return s.mem.User(ctx, ns, userID)
}

func (s outageStore) NextDue(ctx context.Context, ns string) (time.Time, bool, error) {
	if err := s.failed(ctx); err != nil {
		return time.Time{}, false, err
	}
	return s.mem.NextDue(ctx, ns)
}

func (s outageStore) Claim(ctx context.Context, ns string, now time.Time, lease time.Duration, limit int, token uint64) ([]store.Claim, error) {
	if err := s.failed(ctx); err != nil {
		return nil, err
	}
	return s.mem.Claim(ctx, ns, now, lease, limit, token)
}

func (s outageStore) Take(ctx context.Context, ns, key string, limit int64, now, expires time.Time) (bool, error) {
	if err := s.failed(ctx); err != nil {
		return false, err
	}
	return s.mem.Take(ctx, ns, key, limit, now, expires)
}

func (s outageStore) AppendInteractions(ctx context.Context, ns string, events []event.Event, keepUntil time.Time) error {
	if err := s.failed(ctx); err != nil {
		return err
	}
	return s.mem.AppendInteractions(ctx, ns, events, keepUntil)
}

func (s outageStore) Interactions(ctx context.Context, ns string, q store.InteractionQuery, fn func(event.Event) bool) error {
	if err := s.failed(ctx); err != nil {
		return err
	}
	return s.mem.Interactions(ctx, ns, q, fn)
}

func (s outageStore) Stats(ctx context.Context, ns string) (store.Stats, error) {
	if err := s.failed(ctx); err != nil {
		return store.Stats{}, err
	}
	return s.mem.Stats(ctx, ns)
}

func (s outageStore) Prune(ctx context.Context, ns string, now, logBefore time.Time) (int, error) {
	if err := s.failed(ctx); err != nil {
		return 0, err
	}
	return s.mem.Prune(ctx, ns, now, logBefore)
}

func (s outageStore) AddTallies(ctx context.Context, ns string, tallies []store.Tally) error {
	if err := s.failed(ctx); err != nil {
		return err
	}
	return s.mem.AddTallies(ctx, ns, tallies)
}

func (s outageStore) Tallies(ctx context.Context, ns string, q store.TallyQuery) ([]store.Tally, error) {
	if err := s.failed(ctx); err != nil {
		return nil, err
	}
	return s.mem.Tallies(ctx, ns, q)
}

func (s outageStore) PruneTallies(ctx context.Context, ns string, before time.Time) (int, error) {
	if err := s.failed(ctx); err != nil {
		return 0, err
	}
	return s.mem.PruneTallies(ctx, ns, before)
}

// ServerNow is the engine's mock clock: no skew while the store answers.
func (s outageStore) ServerNow(ctx context.Context) (time.Time, error) {
	if err := s.failed(ctx); err != nil {
		return time.Time{}, err
	}
	return s.clk.Now(), nil
}

var (
	_ store.Store       = outageStore{}
	_ store.Tallier     = outageStore{}
	_ store.ServerClock = outageStore{}
)
