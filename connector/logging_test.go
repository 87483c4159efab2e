package connector_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/connectortest"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
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

// capture is a slog.Handler that keeps the records it is handed.
type capture struct {
	level   slog.Level
	mu      sync.Mutex
	records []slog.Record
}

func (c *capture) Enabled(_ context.Context, l slog.Level) bool { return l >= c.level }
func (c *capture) Handle(_ context.Context, r slog.Record) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.records = append(c.records, r.Clone())
	return nil
}
func (c *capture) WithAttrs([]slog.Attr) slog.Handler { return c }
func (c *capture) WithGroup(string) slog.Handler      { return c }

// lines renders the records as "LEVEL decision/reason campaign", with
// "skipped=n" when set, or "LEVEL message" for records that are not
// decisions.
func (c *capture) lines() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, r := range c.records {
		attrs := map[string]string{}
		r.Attrs(func(a slog.Attr) bool { attrs[a.Key] = a.Value.String(); return true })
		s := r.Level.String() + " "
		if d := attrs["decision"]; d != "" {
			s += d
			if attrs["reason"] != "" {
				s += "/" + attrs["reason"]
			}
			s += " " + attrs["campaign"]
		} else {
			s += r.Message
		}
		if n := attrs["skipped"]; n != "" {
			s += " skipped=" + n
		}
		out = append(out, s)
	}
	return out
}

func TestLoggerAtInfoShowsWhatWasLost(t *testing.T) {
	logs := &capture{level: slog.LevelInfo}
	h := connectortest.New(t, connector.WithLogger(slog.New(logs)))
	h.Save(resendCampaigns...)
	h.Publish("resend", "newsletter")
	before := h.Now().Add(-time.Hour)
	h.TrackAt(before, event.Event{UserID: "old", Kind: event.EmailReceived, CampaignID: "newsletter"}) // before the activation: Info
	h.Track(event.Event{UserID: "ann", Kind: event.EmailReceived, CampaignID: "newsletter"})           // scheduled: Debug
	h.Track(event.Event{UserID: "ann", Kind: event.EmailReceived, CampaignID: "newsletter"})           // already pending: Debug
	h.TrackAt(before, event.Event{UserID: "ann", Kind: event.EmailOpened, CampaignID: "newsletter"})   // before the trigger: Info
	h.Track(event.Event{UserID: "ann", Kind: event.EmailOpened, CampaignID: "newsleter"})              // unknown: Warn
	h.Advance(8 * day)                                                                                 // delivered: Info
	require.Equal(t, []string{
		"INFO suppressed/before_activation resend",
		"INFO ignored/before_trigger resend",
		"WARN ignored/unknown_campaign newsleter",
		"INFO delivered resend",
	}, logs.lines())
}

func TestLoggerReportsAnUnknownCampaignOnceAMinute(t *testing.T) {
	logs := &capture{level: slog.LevelWarn}
	h := connectortest.New(t, connector.WithLogger(slog.New(logs)))
	typo := func(campaign string) event.Event {
		return event.Event{UserID: "ann", Kind: event.EmailOpened, CampaignID: campaign}
	}
	h.Track(typo("nope"), typo("nope"), typo("nope"), typo("other"))
	h.Clock.Add(59 * time.Second)
	h.Track(typo("nope"))
	h.Clock.Add(time.Second)
	h.Track(typo("nope"), typo("nope"))
	require.Equal(t, []string{
		"WARN ignored/unknown_campaign nope",
		"WARN ignored/unknown_campaign other",
		"WARN ignored/unknown_campaign nope skipped=3",
	}, logs.lines())
	require.Len(t, h.Decisions(), 7, "observers get every one")
	require.Equal(t, int64(7), h.Engine.EventCounts().Ignored[rule.ReasonUnknownCampaign])
}

// TestLoggerUnderAFloodOfMadeUpCampaignIDs names more campaign IDs in a
// minute than the logger keeps a line for (1,024): the IDs past them
// share one line a minute, and a minute later the lines of the flood are
// forgotten, so that new IDs get lines of their own again.
func TestLoggerUnderAFloodOfMadeUpCampaignIDs(t *testing.T) {
	logs := &capture{level: slog.LevelWarn}
	h := connectortest.New(t, connector.WithLogger(slog.New(logs)))
	typo := func(i int) event.Event {
		return event.Event{UserID: "ann", Kind: event.EmailOpened, CampaignID: fmt.Sprint("made-up-", i)}
	}
	var flood []event.Event
	for i := range 1024 {
		flood = append(flood, typo(i))
	}
	h.Track(flood...)
	require.Len(t, logs.lines(), 1024, "a line for each of the first 1,024 IDs")
	h.Clock.Add(30 * time.Second)
	h.Track(typo(1024), typo(1025), typo(0))
	require.Equal(t, "WARN ignored/unknown_campaign made-up-1024", logs.lines()[1024])
	require.Len(t, logs.lines(), 1025, "made-up-1025 shares the line of the IDs past 1,024, made-up-0 had its line")
	h.Clock.Add(30 * time.Second)
	h.Track(typo(1026), typo(1025), typo(0))
	require.Equal(t, []string{
		"WARN ignored/unknown_campaign made-up-1026",
		"WARN ignored/unknown_campaign made-up-1025",
		"WARN ignored/unknown_campaign made-up-0",
	}, logs.lines()[1025:], "the flood's lines are a minute old: forgotten, each ID has a line again")
	h.Clock.Add(30 * time.Second)
	h.Track(typo(1027), typo(1026))
	require.Equal(t, "WARN ignored/unknown_campaign made-up-1027", logs.lines()[1028])
	require.Len(t, logs.lines(), 1029, "made-up-1026 was logged 30 s ago")
	require.Equal(t, int64(1032), h.Engine.EventCounts().Ignored[rule.ReasonUnknownCampaign])
}

func TestLoggerWarnsOnceWhenDeliveriesAreOverdueAndNothingTicks(t *testing.T) {
	logs := &capture{level: slog.LevelWarn}
	h := connectortest.New(t, connector.WithLogger(slog.New(logs)))
	h.Save(resendCampaigns...)
	h.Publish("resend", "newsletter")
	rcv := func(user string) event.Event {
		return event.Event{UserID: user, Kind: event.EmailReceived, CampaignID: "newsletter"}
	}
	h.Track(rcv("ann"))
	h.Clock.Add(7*day + time.Minute) // due a minute ago, and nothing ticked
	h.Track(rcv("bob"))
	require.Empty(t, logs.lines(), "a minute late is not yet overdue")
	h.Clock.Add(time.Second)
	h.Track(rcv("cid"))
	require.Empty(t, logs.lines(), "the last look was less than a minute ago")
	h.Clock.Add(time.Minute)
	h.Track(rcv("dan"))
	require.Equal(t, []string{"WARN campaignconnector: deliveries are overdue and nothing sends them"}, logs.lines())
	require.Equal(t, "overdue_deliveries", attr(logs.records[0], "reason"))
	require.Contains(t, attr(logs.records[0], "detail"), "due at 2026-01-12T00:00:00Z")
	h.Clock.Add(10 * time.Minute)
	h.Track(rcv("eve"))
	require.Len(t, logs.lines(), 1, "once")

	h.Tick() // something ticks again: ann's delivery goes
	h.Clock.Add(7*day + 5*time.Minute)
	h.Track(rcv("fay"))
	require.Len(t, logs.lines(), 2, "overdue again after a Tick: logged again")
}

// TestNoOverdueWarningWhileRunRuns runs in a synctest bubble: Run sleeps
// on the bubble's clock until the delivery is due, whatever the machine's
// speed.
func TestNoOverdueWarningWhileRunRuns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		logs := &capture{level: slog.LevelWarn}
		// A sender that never returns before the test ends: Run is busy,
		// and the delivery stays claimed past its due time.
		release := make(chan struct{})
		var once sync.Once
		sent := make(chan struct{})
		send := connector.SenderFunc(func(ctx context.Context, d connector.Delivery) error {
			once.Do(func() { close(sent) })
			<-release
			return nil
		})
		e, err := connector.New(store.NewMemory(), send, connector.WithClock(clock.New()), connector.WithLogger(slog.New(logs)))
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		require.NoError(t, e.Save(ctx, resendCampaigns[0]))
		require.NoError(t, e.Save(ctx, resendCampaigns[1]))
		require.NoError(t, e.Publish(ctx, "resend"))
		require.NoError(t, e.Publish(ctx, "newsletter"))
		done := make(chan error)
		go func() { done <- e.Run(ctx) }()
		defer func() { // Run must end for the bubble to end, even when the test fails
			close(release)
			cancel()
			require.NoError(t, <-done)
		}()
		require.NoError(t, e.Track(ctx, event.Event{UserID: "ann", Kind: event.EmailReceived, CampaignID: "newsletter"}))
		time.Sleep(time.Second)
		require.NoError(t, e.Track(ctx, event.Event{UserID: "bob", Kind: event.EmailReceived, CampaignID: "newsletter"}))
		<-sent // ann's, seven days later on the bubble's clock: the Tick waits for it
		// Bob's delivery, due a second after ann's, waits for the next
		// Tick: an hour on, it is overdue, but Run is running.
		time.Sleep(time.Hour)
		require.NoError(t, e.Track(ctx, event.Event{UserID: "cid", Kind: event.EmailReceived, CampaignID: "newsletter"}))
		require.Empty(t, logs.lines())
	})
}

func attr(r slog.Record, key string) string {
	var v string
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == key {
			v = a.Value.String()
		}
		return true
	})
	return v
}

// A late trigger's due time counts from its stamp, not from when the line
// is logged: the line gives the stamp (event_time), so that due_at minus
// event_time is the delay the user got. A timely event's line leaves it
// out, as Explain does.
func TestLoggerGivesTheTimeOfALateEvent(t *testing.T) {
	logs := &capture{level: slog.LevelDebug}
	h := connectortest.New(t, connector.WithLogger(slog.New(logs)))
	h.Apply(resendCampaigns...)
	h.Advance(2 * day)
	stamp := h.Now().Add(-day)
	h.TrackAt(stamp, event.Event{UserID: "late", Kind: event.EmailReceived, CampaignID: "newsletter"})
	h.Track(event.Event{UserID: "timely", Kind: event.EmailReceived, CampaignID: "newsletter"})

	logs.mu.Lock()
	defer logs.mu.Unlock()
	got := map[string]map[string]slog.Value{}
	for _, r := range logs.records {
		attrs := map[string]slog.Value{}
		r.Attrs(func(a slog.Attr) bool { attrs[a.Key] = a.Value; return true })
		if attrs["decision"].String() == "scheduled" {
			got[attrs["user"].String()] = attrs
		}
	}
	require.Len(t, got, 2)
	late := got["late"]
	require.Contains(t, late, "event_time")
	require.True(t, late["event_time"].Time().Equal(stamp), "event_time %v, want %v", late["event_time"], stamp)
	require.Equal(t, 7*day, late["due_at"].Time().Sub(late["event_time"].Time()), "due_at minus event_time is the delay")
	require.NotContains(t, got["timely"], "event_time")
}
