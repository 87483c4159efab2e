package connector_test

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/store"
)

// hostileStore is a memory store whose calls of one kind (what: "claim",
// "batch", "update", "nextdue") panic once armed: in the call that takes
// left to zero. A partial one applies part of the call first (the first
// half of a batch, or the update) and then panics; nilp panics with nil.
type hostileStore struct {
	*store.Memory
	what    string
	left    atomic.Int32 // panics in the call that takes it to zero
	partial bool         // UpdateBatch applies the first half, then panics
	nilp    bool
	many    bool // every call from the armed one on panics
	off     atomic.Bool
	before  func() // if not nil, called before each panic
}

func (s *hostileStore) boom() {
	if s.before != nil {
		s.before()
	}
	if s.nilp {
		panic(nil)
	}
	panic("boom")
}

func (s *hostileStore) hit(what string) bool {
	if s.what != what || s.off.Load() {
		return false
	}
	n := s.left.Add(-1)
	return n == 0 || n < 0 && s.many
}

func (s *hostileStore) Claim(ctx context.Context, ns string, now time.Time, lease time.Duration, limit int, token uint64) ([]store.Claim, error) {
	if s.hit("claim") {
		s.boom()
	}
	return s.Memory.Claim(ctx, ns, now, lease, limit, token)
}

func (s *hostileStore) UpdateBatch(ctx context.Context, ns string, ops []store.Op) error {
	if s.hit("batch") {
		if s.partial && len(ops) > 1 {
			_ = s.Memory.UpdateBatch(ctx, ns, ops[:len(ops)/2])
		}
		s.boom()
	}
	return s.Memory.UpdateBatch(ctx, ns, ops)
}

func (s *hostileStore) Update(ctx context.Context, ns, userID string, now time.Time, dedup store.Dedup, fn func(u *store.UserState, duplicate bool)) error {
	if s.hit("update") {
		if s.partial {
			_ = s.Memory.Update(ctx, ns, userID, now, dedup, fn)
		}
		s.boom()
	}
	return s.Memory.Update(ctx, ns, userID, now, dedup, fn)
}

func (s *hostileStore) NextDue(ctx context.Context, ns string) (time.Time, bool, error) {
	if s.hit("nextdue") {
		s.boom()
	}
	return s.Memory.NextDue(ctx, ns)
}

// hostilePlain hides the batch calls and claim recycling of the store it
// wraps: each op goes to Update.
type hostilePlain struct{ store.Store }

// hostileInstr is instrumentation whose StartSend ("startsend") or the
// end it returns ("endsend") panics when h is armed so.
type hostileInstr struct{ h *hostileStore }

func (i hostileInstr) StartTrack(ctx context.Context, _ event.Event) (context.Context, func(error)) {
	return ctx, func(error) {}
}

func (i hostileInstr) StartSend(ctx context.Context, _ connector.Delivery) (context.Context, func(error)) {
	if i.h.hit("startsend") {
		i.h.boom()
	}
	return ctx, func(error) {
		if i.h.hit("endsend") {
			i.h.boom()
		}
	}
}
