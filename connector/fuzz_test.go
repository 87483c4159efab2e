package connector_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/connectortest"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
)

// FuzzTrack drives an engine with campaigns of every shape through a
// sequence of events decoded from the input (kind, user, campaign, target,
// time offset, a property) interleaved with clock moves and ticks. No
// input may panic; Track may only fail with validation errors; the engine
// never sends a campaign twice to a user within one tick.
func FuzzTrack(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15})
	f.Add([]byte("\x0a\x00\x01\xff\x80\x10\x20\x30resend\x00\x06\x06\x06"))
	f.Add([]byte{19, 0, 0, 0, 200, 1, 20, 0, 0, 0, 100, 2, 5, 1, 1, 0, 0, 3})
	f.Fuzz(func(t *testing.T, data []byte) {
		h := connectortest.New(t, connector.WithMaxTriggerAge(30*24*time.Hour), connector.WithAllowedLateness(time.Minute))
		h.Save(fuzzCampaigns...)
		h.Publish("f_immediate", "f_wait", "f_calendar", "f_parallel", "f_chain", "o1", "o2")
		kinds := event.Kinds()
		users := []string{"a", "b", "c"}
		campaigns := []string{"o1", "o2", "f_wait", "f_immediate", "", "unknown"}
		ctx := context.Background()
		for len(data) >= 6 {
			op, k, u, c, tgt, off := data[0], data[1], data[2], data[3], data[4], data[5]
			data = data[6:]
			switch op % 8 {
			case 0:
				h.Clock.Add(time.Duration(off) * time.Minute)
				h.Tick()
				continue
			case 1:
				_ = h.Engine.Stop(ctx, "f_wait")
				continue
			case 2:
				_ = h.Engine.Publish(ctx, "f_wait")
				continue
			}
			ev := event.Event{
				ID:         string(rune('A' + off%8)),
				UserID:     users[int(u)%len(users)],
				Kind:       kinds[int(k)%len(kinds)],
				CampaignID: campaigns[int(c)%len(campaigns)],
				Time:       h.Now().Add(time.Duration(int(off)-128) * time.Hour),
				Properties: map[string]any{"total": int(tgt) - 10},
			}
			if tgt%3 == 0 {
				ev.Target = "btn"
			}
			if ev.Kind.HasName() {
				ev.Name = "x"
			}
			if err := h.Engine.Track(ctx, ev); err != nil {
				var ve *event.ValidationError
				if !errors.As(err, &ve) {
					t.Fatalf("Track(%+v): untyped error %T: %v", ev, err, err)
				}
			}
		}
		h.Advance(40 * 24 * time.Hour)
		seen := map[string]bool{}
		for _, d := range h.Sent() {
			if seen[d.ID] {
				t.Fatalf("delivery %s sent twice", d.ID)
			}
			seen[d.ID] = true
		}
	})
}

var fuzzCampaigns = []rule.Campaign{
	{ID: "o1", Conversions: []rule.Conversion{{ID: "buy", Kind: event.Purchase, Deadline: time.Hour}}},
	{ID: "o2"},
	{ID: "f_immediate", Triggers: []rule.Trigger{{Kind: event.EmailOpened, CampaignID: "o1"}, {Kind: event.PushButtonClicked, CampaignID: "o2", Target: "btn"}},
		Reeligibility: rule.ReeligibleAfter(0), ControlPercent: 30},
	{ID: "f_wait", Triggers: []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "o1"}, {Kind: event.Purchase, Where: []rule.Condition{rule.Greater("total", 100)}}},
		Delay: rule.After(2 * time.Hour), Exceptions: []rule.Exception{{Kind: event.EmailOpened, CampaignID: "o1"}, {Kind: event.Purchase}},
		PendingPolicy: rule.ReplaceWithLatest, Reeligibility: rule.ReeligibleAfter(time.Hour)},
	{ID: "f_calendar", Triggers: []rule.Trigger{{Kind: event.CustomEvent, Name: "x"}}, Delay: rule.NextWeekdayAt(time.Monday, 9, 0),
		SendWindow: &rule.SendWindow{From: rule.At(8, 0), To: rule.At(20, 0), NextAvailable: true}, RateLimit: 2},
	{ID: "f_parallel", Triggers: []rule.Trigger{{Kind: event.SessionStart}}, Delay: rule.InDaysAt(0, 12, 0),
		PendingPolicy: rule.AllowParallel, Reeligibility: rule.ReeligibleAfter(0), Start: connectortest.Start, End: connectortest.Start.Add(20 * 24 * time.Hour)},
	{ID: "f_chain", Triggers: []rule.Trigger{{Kind: event.ConversionPerformed, CampaignID: "o1"}, {Kind: event.ControlGroupEnrolled, CampaignID: "f_immediate"}}},
}
