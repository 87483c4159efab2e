package otelconnector_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/connectortest"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/otelconnector"
	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// downDirectory is a user directory that does not answer.
type downDirectory struct{}

var errDirectoryDown = errors.New("directory: connection refused")

func (downDirectory) Location(context.Context, string) (*time.Location, error) {
	return nil, errDirectoryDown
}

func (downDirectory) InSegment(context.Context, string, string) (bool, error) {
	return false, errDirectoryDown
}

// directoryEnv is newEnv with a directory that does not answer and the
// resend follow-up for the "vip" audience: tracking a delivery fails with
// an error that quotes the user's ID.
func directoryEnv(t *testing.T, opts ...otelconnector.Option) *env {
	t.Helper()
	e := newTelemetry(t, opts...)
	e.h = connectortest.New(t, append(e.tel.Options(), connector.WithDirectory(downDirectory{}))...)
	newsletter, followUp := resend()
	followUp.Audience = "vip"
	e.h.Save(newsletter, followUp)
	e.h.Publish("resend", "newsletter")
	return e
}

// spanText is what a span says of its error: its status and its
// exception events' messages.
func spanText(s sdktrace.ReadOnlySpan) string {
	text := s.Status().Description
	for _, ev := range s.Events() {
		for _, a := range ev.Attributes {
			if a.Key == "exception.message" {
				text += "\n" + a.Value.AsString()
			}
		}
	}
	return text
}

// TestErrorTextsOnSpansNameNoUser: the engine quotes the user's ID in some
// of its errors (the directory failed for it); a span records the error
// with the ID left out, as it leaves out its attribute, unless the host
// asked for user IDs with WithUserID.
func TestErrorTextsOnSpansNameNoUser(t *testing.T) {
	ctx := context.Background()
	t.Run("Track", func(t *testing.T) {
		e := directoryEnv(t)
		err := e.h.Engine.Track(ctx, received("ann@example.com"))
		require.ErrorIs(t, err, errDirectoryDown)
		require.Contains(t, err.Error(), `"ann@example.com"`, "the caller gets the ID")
		text := spanText(e.ended(otelconnector.SpanTrack)[0])
		require.NotContains(t, text, "ann@example.com")
		require.Contains(t, text, `connector: directory: is <user> in "vip": directory: connection refused`)
	})
	t.Run("TrackAll", func(t *testing.T) {
		e := directoryEnv(t)
		err := e.h.Engine.TrackAll(ctx, []event.Event{received("ann@example.com"), received("bob@example.com")})
		require.ErrorIs(t, err, errDirectoryDown)
		text := spanText(e.ended(otelconnector.SpanTrackAll)[0])
		require.NotContains(t, text, "ann@example.com")
		require.NotContains(t, text, "bob@example.com")
		require.Equal(t, 4, strings.Count(text, `is <user> in "vip"`), "two events, in the status and the exception")
	})
	t.Run("Send", func(t *testing.T) {
		e := newTelemetry(t)
		sender := connector.SenderFunc(func(_ context.Context, d connector.Delivery) error {
			return fmt.Errorf("sending to %q (not %q): %w", d.UserID, "annie", errMailboxFull)
		})
		_, err := immediateEngine(t, e, sender).Tick(ctx)
		require.NoError(t, err)
		text := spanText(e.ended(otelconnector.SpanSend)[0])
		require.Contains(t, text, `sending to <user> (not "annie"): provider: mailbox full`, "only the user's ID, whole")
	})
	t.Run("with WithUserID", func(t *testing.T) {
		e := directoryEnv(t, otelconnector.WithUserID())
		_ = e.h.Engine.Track(ctx, received("ann@example.com"))
		require.Contains(t, spanText(e.ended(otelconnector.SpanTrack)[0]), `is "ann@example.com" in "vip"`)
	})
}

// TestAnUnbalancedQuoteHidesNoUser: a sender's error may hold a double
// quote that opens no string (a JSON decoder's "invalid character '"'",
// an inch sign) before it quotes the recipient; the recipient's ID is
// left out all the same.
func TestAnUnbalancedQuoteHidesNoUser(t *testing.T) {
	for _, text := range []string{
		`reading the reply: invalid character '"' after object key; recipient %q`,
		`a 5" screen; recipient %q`,
		`reply "{\"to\": \"x\"} ; recipient %q`, // cut short: the quote it opens is never closed
	} {
		e := newTelemetry(t)
		sender := connector.SenderFunc(func(_ context.Context, d connector.Delivery) error {
			return fmt.Errorf(text, d.UserID)
		})
		_, err := immediateEngine(t, e, sender).Tick(context.Background())
		require.NoError(t, err)
		got := spanText(e.ended(otelconnector.SpanSend)[0])
		require.NotContains(t, got, `"ann@example.com"`, text)
		require.Contains(t, got, "recipient <user>", text)
	}
}
