package connector_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// TestOwnClaimOfANewActivationDuringASendIsSent: a follow-up stopped
// during a send and resumed with a backfill schedules the trigger again,
// a delivery with the same ID of the new activation. The engine's own
// claim of it while the old send goes on is not a claim of that send:
// the new delivery is sent, and the old send's failure is not recorded
// on it, whether the claim is checked during the send or waits in its
// Tick's feed until the send's record.
func TestOwnClaimOfANewActivationDuringASendIsSent(t *testing.T) {
	for _, tc := range []struct {
		sendErr error
		queued  bool
	}{
		{errors.New("provider down"), false},
		{fmt.Errorf("%w: bad address", connector.ErrPermanent), false},
		{errors.New("provider down"), true},
		{fmt.Errorf("%w: bad address", connector.ErrPermanent), true},
	} {
		sendErr := tc.sendErr
		t.Run(fmt.Sprint(sendErr, ", queued ", tc.queued), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx := context.Background()
				clk := clock.NewMock()
				s := &heldClaims{steppedClaims: &steppedClaims{Memory: store.NewMemory()},
					claimed: make(chan struct{}), release: make(chan struct{})}
				send := &gatedSender{}
				o := &outcomes{}
				e, tick := backfillDuringSend(t, s, send, o, clk)

				// The engine claims the new activation's delivery while the
				// old send goes on.
				s.armed.Store(tc.queued)
				var second sync.WaitGroup
				second.Go(func() {
					if _, err := e.Tick(ctx); err != nil {
						t.Error(err)
					}
				})
				if tc.queued {
					<-s.claimed
					send.answer[0] <- sendErr
					tick.Wait()
					close(s.release)
				}
				synctest.Wait()
				if send.calls() == 2 {
					send.answer[1] <- nil
				}
				second.Wait()
				if !tc.queued {
					send.answer[0] <- sendErr
					tick.Wait()
				}

				if send.calls() == 1 {
					// Not sent by the second Tick: it must still be pending,
					// of the new activation, and due.
					st, err := s.User(ctx, "", "u")
					require.NoError(t, err)
					require.Len(t, st.Pending, 1, "the new activation's delivery is gone: %v", o.all())
					require.Equal(t, int64(2), st.Pending[0].Activation)
					require.False(t, st.Pending[0].ReadyAt.After(clk.Now().Add(time.Minute)),
						"the new activation's delivery waits for the old send's retry")
				}
				stopped := 0
				for _, d := range o.all() {
					if d.Kind == rule.Cancelled && d.Reason == rule.ReasonCampaignStopped {
						stopped++
					}
				}
				require.Equal(t, 1, stopped, "the old send is reported cancelled by the stop: %v", o.all())
			})
		})
	}
}
