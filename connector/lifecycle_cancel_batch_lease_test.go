package connector_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/store"
)

// TestABatchJudgesLeasesAtItsOwnStart: every delivery of the backlog is
// being sent by an engine that then died, its lease 5 minutes long; the
// leases run out after the stop's first batch (the clock moves 10
// minutes). The first batch leaves the deliveries it removed to their
// sender, whose leases lived; the later batches find the leases over, and
// record the cancellation of each delivery they remove, which no engine
// would record otherwise.
func TestABatchJudgesLeasesAtItsOwnStart(t *testing.T) {
	ctx := context.Background()
	s := &batchSpy{Memory: store.NewMemory()}
	r := newBacklog(t, s, backlogUsers)
	r.clk.Add(8 * 24 * time.Hour) // due
	leased := r.clk.Now().Add(5 * time.Minute)
	var ops []store.Op
	for i := range backlogUsers {
		u := fmt.Sprintf("user%05d", i)
		ops = append(ops, store.Op{UserID: u, Now: r.clk.Now(), Fn: func(st *store.UserState, _ bool) {
			for _, p := range st.Pending {
				p.Sending, p.Token, p.Attempt, p.ReadyAt = true, 7, p.Attempt+1, leased
			}
		}})
	}
	require.Len(t, ops, backlogUsers)
	require.NoError(t, s.UpdateBatch(ctx, "", ops))
	s.resetCounts()
	s.after = func(call int) {
		if call == 1 {
			r.clk.Add(10 * time.Minute)
		}
	}
	require.NoError(t, r.e.Stop(ctx, "resend"))
	require.Greater(t, s.batches, 2)
	require.Len(t, r.stopped(t, "stop"), backlogUsers-1000, "deliveries removed after their leases ran out, without a decision")
	n, err := r.e.CampaignPendingCount(ctx, "resend", backlogUsers)
	require.NoError(t, err)
	require.Zero(t, n)
}
