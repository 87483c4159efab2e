package connector_test

import (
	"bytes"
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
)

// TestRunLogsARecordLostPastItsDeadline: Run's context ends by its
// deadline (a host that runs the engine for a set time) while a send is
// in progress, and the store stops answering. The record of the send
// fails after a lease with the store call's own deadline, which is not
// the end of Run's context: the lost record is logged, as after a
// cancel, and Tick returns it rather than the deadline.
func TestRunLogsARecordLostPastItsDeadline(t *testing.T) {
	for _, viaRun := range []bool{true, false} {
		name := "Tick"
		if viaRun {
			name = "Run"
		}
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := newHungStore()
				defer close(s.answer)
				var sends atomic.Int32
				send := connector.SenderFunc(func(context.Context, connector.Delivery) error {
					if sends.Add(1) == 1 {
						s.hung.Store(true)
						time.Sleep(20 * time.Second) // past the deadline
					}
					return nil
				})
				var logged bytes.Buffer
				e, err := connector.New(s, send, connector.WithSendConcurrency(1), connector.WithBatchSize(1),
					connector.WithLease(time.Minute), connector.WithSendTimeout(30*time.Second),
					connector.WithLogger(slog.New(slog.NewTextHandler(&logged, nil))))
				require.NoError(t, err)
				dueFor(t, e, "u1")
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				if viaRun {
					require.NoError(t, e.Run(ctx))
				} else {
					_, err := e.Tick(ctx)
					require.ErrorContains(t, err, "recording delivery")
					require.ErrorContains(t, err, "the store gave no answer within the lease")
				}
				require.Equal(t, int32(1), sends.Load())
				if viaRun {
					require.Contains(t, logged.String(), "recording delivery")
				}
			})
		})
	}
}
