package otelconnector_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/otelconnector"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/codes"
)

// TestALongErrorIsClippedOnItsSpan: a sender's error that quotes the
// provider's reply (an HTML error page, a long JSON body) can run to
// hundreds of kilobytes; its span records a bounded text of it, in its
// status and in its exception event, so that one failed send does not
// send a megabyte to the tracing back end, twice: 4 KiB of it, and its
// size.
func TestALongErrorIsClippedOnItsSpan(t *testing.T) {
	e := newTelemetry(t)
	reply := strings.Repeat("<p>Service Unavailable</p>", 16_000)
	sender := connector.SenderFunc(func(context.Context, connector.Delivery) error {
		return fmt.Errorf("provider answered 503: %s", reply)
	})
	_, err := immediateEngine(t, e, sender).Tick(context.Background())
	require.NoError(t, err)
	full := "provider answered 503: " + reply
	require.Greater(t, len(full), 100_000)

	spans := e.ended(otelconnector.SpanSend)
	require.Len(t, spans, 1)
	status := spans[0].Status()
	require.Equal(t, codes.Error, status.Code)
	require.LessOrEqual(t, len(status.Description), 4096+64)
	require.True(t, strings.HasPrefix(status.Description, full[:1000]), "the start of the error is kept")
	require.True(t, strings.HasSuffix(status.Description, fmt.Sprintf("… (%d bytes in all)", len(full))), status.Description[len(status.Description)-100:])

	require.Len(t, spans[0].Events(), 1)
	var message string
	for _, a := range spans[0].Events()[0].Attributes {
		if a.Key == "exception.message" {
			message = a.Value.AsString()
		}
	}
	require.Equal(t, status.Description, message)
}

// TestAShortErrorIsRecordedWhole: an error within the bound is recorded as
// it is.
func TestAShortErrorIsRecordedWhole(t *testing.T) {
	e := newEnv(t)
	err := e.h.Engine.TrackAll(context.Background(), []event.Event{{UserID: "ann", Kind: "delivered"}, {UserID: "bob", Kind: event.Purchase}})
	require.Error(t, err)
	require.Equal(t, err.Error(), e.ended(otelconnector.SpanTrackAll)[0].Status().Description)
}
