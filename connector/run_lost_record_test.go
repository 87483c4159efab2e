package connector_test

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/store"
)

// TestRunLogsARecordLostAsItStops: the store fails the record of a send in
// progress when Run's context ends (closed under it, here). Run still
// returns nil, but logs the lost record, the one trace that the delivery
// will be sent again after its lease; the end of its context does not
// hide the store's error.
func TestRunLogsARecordLostAsItStops(t *testing.T) {
	var buf syncBuffer
	synctest.Test(t, func(t *testing.T) {
		s := closedAtRecord{&recordFails{Memory: store.NewMemory(), who: "u1", times: 1 << 20}}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		send := connector.SenderFunc(func(context.Context, connector.Delivery) error {
			cancel() // SIGTERM during the send
			return nil
		})
		e, err := connector.New(s, send, connector.WithSendConcurrency(1), connector.WithBatchSize(1),
			connector.WithLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelError}))))
		require.NoError(t, err)
		dueFor(t, e, "u1")
		require.NoError(t, e.Run(ctx))
	})
	out := buf.String()
	require.Contains(t, out, "campaignconnector: run")
	require.Contains(t, out, "recording delivery")
	require.Contains(t, out, store.ErrClosed.Error())
}

// claimHangs is a closedAtRecord store whose claims, once hung, wait for
// their context to end: a claim in flight when Run's context ends.
type claimHangs struct {
	closedAtRecord
	hung    atomic.Bool
	blocked chan struct{} // a claim waits
}

func (s *claimHangs) Claim(ctx context.Context, ns string, now time.Time, lease time.Duration, limit int, token uint64) ([]store.Claim, error) {
	if s.hung.Load() {
		select {
		case s.blocked <- struct{}{}:
		default:
		}
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return s.closedAtRecord.Claim(ctx, ns, now, lease, limit, token)
}

// TestRunLogsARecordLostAfterAClaimCutShort: Run's context ends while a
// send is in progress and a claim of the next batch is in flight; the
// claim ends with the context, then the store fails the send's record.
// The claim cut short is no error, but the lost record is logged all the
// same.
func TestRunLogsARecordLostAfterAClaimCutShort(t *testing.T) {
	var buf syncBuffer
	synctest.Test(t, func(t *testing.T) {
		s := &claimHangs{
			closedAtRecord: closedAtRecord{&recordFails{Memory: store.NewMemory(), who: "u0", times: 1 << 20}},
			blocked:        make(chan struct{}, 1),
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		send := connector.SenderFunc(func(_ context.Context, d connector.Delivery) error {
			if d.UserID == "u0" && !s.hung.Swap(true) {
				<-s.blocked // the next batch's claim is in flight
				cancel()    // SIGTERM
				time.Sleep(time.Second)
			}
			return nil
		})
		e, err := connector.New(s, send, connector.WithSendConcurrency(2), connector.WithBatchSize(2),
			connector.WithLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelError}))))
		require.NoError(t, err)
		dueFor(t, e, "u0", "u1", "u2", "u3")
		require.NoError(t, e.Run(ctx))
	})
	out := buf.String()
	require.Contains(t, out, "recording delivery")
	require.Contains(t, out, store.ErrClosed.Error())
}
