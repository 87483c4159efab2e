package connector_test

import (
	"context"
	"log/slog"
	"testing"
	"testing/synctest"

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
