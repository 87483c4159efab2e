package otelconnector_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/otelconnector"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/codes"
)

// TestALongErrorIsClippedOnItsSpan: a TrackAll of a webhook's batch that
// fails for every event (the store is down, or every event is invalid)
// returns the errors of all of them joined, hundreds of kilobytes for a
// few thousand events; its span records a bounded text of it, in its
// status and in its exception event, so that one request does not send
// a megabyte to the tracing back end, twice: 4 KiB of it, and its size.
func TestALongErrorIsClippedOnItsSpan(t *testing.T) {
	e := newEnv(t)
	events := make([]event.Event, 5000)
	for i := range events {
		events[i] = event.Event{ID: fmt.Sprintf("sg-%d", i), UserID: "ann", Kind: "delivered"} // not a kind: invalid
	}
	err := e.h.Engine.TrackAll(context.Background(), events)
	require.Error(t, err)
	full := err.Error()
	require.Greater(t, len(full), 100_000)

	spans := e.ended(otelconnector.SpanTrackAll)
	require.Len(t, spans, 1)
	status := spans[0].Status()
	require.Equal(t, codes.Error, status.Code)
	require.LessOrEqual(t, len(status.Description), 4096+64)
	require.True(t, strings.HasPrefix(status.Description, full[:1000]), "the first errors are kept")
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
