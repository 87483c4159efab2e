package connector_test

import (
	"context"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/store"
)

// closedAtRecord is a memory store closed, for the engine, when it comes
// to record a send to user who: the update fails with store.ErrClosed, as
// a store closed under a running engine answers.
type closedAtRecord struct{ *recordFails }

func (s closedAtRecord) Update(ctx context.Context, ns, userID string, now time.Time, dedup store.Dedup, fn func(*store.UserState, bool)) error {
	if s.fails(ctx, ns, []store.Op{{UserID: userID, Fn: fn}}) {
		return fmt.Errorf("the store: %w", store.ErrClosed)
	}
	return s.Memory.Update(ctx, ns, userID, now, dedup, fn)
}

func (s closedAtRecord) UpdateBatch(ctx context.Context, ns string, ops []store.Op) error {
	if s.fails(ctx, ns, ops) {
		for i := range ops {
			ops[i].Err = fmt.Errorf("the store: %w", store.ErrClosed)
		}
		return ops[0].Err
	}
	return s.Memory.UpdateBatch(ctx, ns, ops)
}

// TestAClosedStoreEndsTheRecordRetries: a store closed under a running
// engine never answers again, so a send's record is not retried until the
// lease ends (on a mock clock nobody moves, never): the Tick returns at
// once with the store's error, and the delivery is sent again after its
// lease by whichever engine runs on the store next.
func TestAClosedStoreEndsTheRecordRetries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := clock.NewMock()
		s := closedAtRecord{&recordFails{Memory: store.NewMemory(), who: "u1", times: 1 << 20}}
		e, err := connector.New(s, &recorder{}, connector.WithClock(clk), connector.WithSendConcurrency(1))
		require.NoError(t, err)
		dueFor(t, e, "u1")
		done := make(chan struct{})
		go func() {
			defer close(done)
			_, err = e.Tick(context.Background())
		}()
		synctest.Wait()
		select {
		case <-done:
		default:
			for returned := false; !returned; { // let the retries run out before failing
				clk.Add(time.Minute)
				synctest.Wait()
				select {
				case <-done:
					returned = true
				default:
				}
			}
			t.Fatal("Tick kept retrying the record on a closed store")
		}
		require.ErrorIs(t, err, store.ErrClosed)
	})
}
