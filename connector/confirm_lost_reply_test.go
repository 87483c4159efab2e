package connector_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/store"
)

// lostSharedReply is a memory store whose first batch of more than one
// op, once armed, is applied and then reported as failed, each op with
// the error: a transaction committed whose answer was lost.
type lostSharedReply struct {
	*store.Memory
	armed atomic.Bool
}

var errLostShared = errors.New("connection reset after the commit")

func (s *lostSharedReply) UpdateBatch(ctx context.Context, ns string, ops []store.Op) error {
	if err := s.Memory.UpdateBatch(ctx, ns, ops); err != nil || len(ops) < 2 || !s.armed.CompareAndSwap(true, false) {
		return err
	}
	for i := range ops {
		ops[i].Err = errLostShared
	}
	return errLostShared
}

// A confirmation stored by a shared call whose answer was lost, and then
// applied again on its own, counts its attempt once: the delivery goes
// out as attempt 1, with its retries intact.
func TestAConfirmationAppliedAgainAfterALostReplyCountsOneAttempt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &lostSharedReply{Memory: store.NewMemory()}
		l := &sendLog{}
		e, err := connector.New(s, l, connector.WithSendConcurrency(1))
		require.NoError(t, err)
		dueFor(t, e, "u1")
		s.armed.Store(true) // the second delivery's check shares a call with the first's record
		n, err := e.Tick(context.Background())
		require.NoError(t, err)
		require.Equal(t, 2, n)
		require.False(t, s.armed.Load(), "no shared call lost its answer")
		for _, d := range l.sends() {
			require.Equal(t, 1, d.Attempt, "delivery %s (%s)", d.ID, d.CampaignID)
		}
	})
}
