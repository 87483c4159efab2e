package connector_test

import (
	"context"
	"errors"
	"log/slog"
	"reflect"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/store"
)

// noRenewals is a memory store that fails every renewal of a lease (an
// update that changes nothing but the ReadyAt of a delivery being sent),
// as a store would that fails the keeper's calls and no other.
type noRenewals struct {
	*store.Memory
	failed atomic.Int64
}

var errRenewal = errors.New("the store failed the lease renewal")

// renewal reports whether fn, applied to userID's state, only moves the
// lease of a delivery being sent.
func (s *noRenewals) renewal(ctx context.Context, ns, userID string, fn func(*store.UserState, bool)) bool {
	st, err := s.Memory.User(ctx, ns, userID)
	if err != nil {
		return false
	}
	c := st.Clone()
	fn(&c, false) // on a copy: the engine's update functions may run again
	if len(c.Pending) != len(st.Pending) || !reflect.DeepEqual(c.Receipts, st.Receipts) || len(c.Log) != len(st.Log) {
		return false
	}
	moved := 0
	for i, p := range st.Pending {
		q := *c.Pending[i]
		if q.ReadyAt.Equal(p.ReadyAt) {
			continue
		}
		q.ReadyAt = p.ReadyAt
		if !p.Sending || !reflect.DeepEqual(q, *p) {
			return false
		}
		moved++
	}
	return moved == 1
}

func (s *noRenewals) Update(ctx context.Context, ns, userID string, now time.Time, dedup store.Dedup, fn func(*store.UserState, bool)) error {
	if s.renewal(ctx, ns, userID, fn) {
		s.failed.Add(1)
		return errRenewal
	}
	return s.Memory.Update(ctx, ns, userID, now, dedup, fn)
}

func (s *noRenewals) UpdateBatch(ctx context.Context, ns string, ops []store.Op) error {
	return updateEach(ctx, ns, ops, s.Update)
}

// TestSendThatOutlivesItsLeaseEndsTheDelivery checks that when a send
// outlives its lease (the store fails every renewal, and each send takes
// three leases), the engine that claims the delivery next does not send
// it again once the first send has been recorded: the send that
// succeeded ends the delivery, whoever holds its lease, so a delivery
// is not sent back and forth between two engines.
func TestSendThatOutlivesItsLeaseEndsTheDelivery(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := clock.NewMock()
		s := &noRenewals{Memory: store.NewMemory()}
		send := &slowSender{clk: clk, latency: 3 * time.Minute}
		var engines []*connector.Engine
		for range 2 {
			e, err := connector.New(s, send, connector.WithClock(clk), connector.WithLease(time.Minute))
			require.NoError(t, err)
			engines = append(engines, e)
		}
		waitingUsers(t, engines[0], clk, 3)
		tickAll(t, clk, engines, time.Second, time.Hour, func() bool {
			st, err := engines[0].Stats(context.Background())
			require.NoError(t, err)
			return st.Pending == 0
		})
		require.Positive(t, s.failed.Load(), "renewals failed")
		counts := send.counts()
		require.Len(t, counts, 3)
		for id, n := range counts {
			// The second engine claims the delivery a lease into the
			// first one's send and sends it too: the store failed the
			// renewals. After that, nobody sends it again.
			require.LessOrEqual(t, n, 2, "delivery %s sent %d times", id, n)
		}
	})
}

// TestFailedRenewalsAreLogged checks that a renewal the store fails is
// logged at Error: no caller hears of it, and a lease that ends during its
// send lets another engine send the delivery again.
func TestFailedRenewalsAreLogged(t *testing.T) {
	var buf syncBuffer
	synctest.Test(t, func(t *testing.T) {
		clk := clock.NewMock()
		s := &noRenewals{Memory: store.NewMemory()}
		send := &slowSender{clk: clk, latency: 3 * time.Minute}
		e, err := connector.New(s, send, connector.WithClock(clk), connector.WithLease(time.Minute),
			connector.WithLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelError}))))
		require.NoError(t, err)
		waitingUsers(t, e, clk, 1)
		tickAll(t, clk, []*connector.Engine{e}, time.Second, time.Hour, func() bool {
			st, err := e.Stats(context.Background())
			require.NoError(t, err)
			return st.Pending == 0
		})
		require.Positive(t, s.failed.Load(), "renewals failed")
	})
	out := buf.String()
	require.Contains(t, out, "level=ERROR")
	require.Contains(t, out, "campaignconnector: renewing leases")
	require.Contains(t, out, "1 of 1 sends in progress kept their lease as it was")
	require.Contains(t, out, errRenewal.Error())
}

// updateEach is UpdateBatch for a test store that wraps Update: each op
// through update, its error in op.Err, the first one returned.
func updateEach(ctx context.Context, ns string, ops []store.Op,
	update func(ctx context.Context, ns, userID string, now time.Time, dedup store.Dedup, fn func(*store.UserState, bool)) error) error {
	var first error
	for i := range ops {
		op := &ops[i]
		op.Err = update(ctx, ns, op.UserID, op.Now, op.Dedup, op.Fn)
		if first == nil {
			first = op.Err
		}
	}
	return first
}
