package connector_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/connectortest"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/stretchr/testify/require"
)

func TestLoggerLevelsAndAttributes(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h := connectortest.New(t, connector.WithLogger(logger))
	h.Save(resendCampaigns...)
	h.Publish("resend", "newsletter")
	h.Track(event.Event{ID: "e1", UserID: "ann", Kind: event.EmailReceived, CampaignID: "newsletter"})
	h.Sender.Fail = func(d connector.Delivery) error {
		if d.Attempt == 1 {
			return errors.New("busy")
		}
		return nil
	}
	h.Advance(8 * 24 * time.Hour)

	type line struct {
		Level, Msg, Decision, Campaign, User, Event, Delivery, Reason string
		Attempt                                                       int
	}
	var lines []line
	sc := bufio.NewScanner(&buf)
	for sc.Scan() {
		var l line
		require.NoError(t, json.Unmarshal(sc.Bytes(), &l))
		lines = append(lines, l)
	}
	require.Len(t, lines, 3, buf.String())
	require.Equal(t, line{Level: "DEBUG", Msg: "campaignconnector scheduled", Decision: "scheduled", Campaign: "resend", User: "ann", Event: "e1",
		Delivery: lines[0].Delivery}, lines[0])
	require.NotEmpty(t, lines[0].Delivery)
	require.Equal(t, "WARN", lines[1].Level)
	require.Equal(t, "retried", lines[1].Decision)
	require.Equal(t, "send_error", lines[1].Reason)
	require.Equal(t, 1, lines[1].Attempt)
	require.Equal(t, "INFO", lines[2].Level)
	require.Equal(t, "delivered", lines[2].Decision)

	t.Run("at Info, only deliveries and worse", func(t *testing.T) {
		var buf bytes.Buffer
		logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
		h := connectortest.New(t, connector.WithLogger(logger))
		h.Save(resendCampaigns...)
		h.Publish("resend", "newsletter")
		h.Track(event.Event{UserID: "bob", Kind: event.EmailReceived, CampaignID: "newsletter"})
		require.Empty(t, buf.String(), "scheduling is debug")
		h.Advance(8 * 24 * time.Hour)
		require.Contains(t, buf.String(), "level=INFO msg=\"campaignconnector delivered\"")
	})
}
