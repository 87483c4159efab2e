package connector_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connectortest"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
)

// visitCampaign makes f a reminder an hour after the last "visit": the
// same custom event is its trigger and its exception.
func visitCampaign(policy rule.PendingPolicy) func(*rule.Campaign) {
	return func(c *rule.Campaign) {
		c.Triggers = []rule.Trigger{{Kind: event.CustomEvent, Name: "visit"}}
		c.Exceptions = []rule.Exception{{Kind: event.CustomEvent, Name: "visit"}}
		c.PendingPolicy = policy
	}
}

func visit(user, id string, at time.Time) event.Event {
	return event.Event{ID: id, UserID: user, Kind: event.CustomEvent, Name: "visit", Time: at}
}

// Visits at 00:00 and 00:10, tracked at 00:20: in time order, under every
// pending policy, the second cancels the first's delivery and the user
// gets one, an hour after the last visit. Reported the other way round,
// the earlier visit is no exception to the later one's delivery (it
// happened before that trigger): the first two policies keep the later
// delivery alone, while AllowParallel schedules the earlier visit's too,
// and the user gets both (its exception, the later visit, was processed
// before it and found nothing to cancel).
func TestARepeatOfTriggerAndExceptionUnderEachPolicy(t *testing.T) {
	t0 := connectortest.Start
	first, last := visit("u", "a", t0), visit("u", "b", t0.Add(10*time.Minute))
	for _, policy := range []rule.PendingPolicy{rule.KeepFirst, rule.ReplaceWithLatest, rule.AllowParallel} {
		for _, inOrder := range []bool{true, false} {
			name := string(policy) + " in time order"
			if !inOrder {
				name = string(policy) + " latest first"
			}
			t.Run(name, func(t *testing.T) {
				h := started(t, visitCampaign(policy))
				h.Advance(20 * time.Minute)
				if inOrder {
					h.Track(first, last)
				} else {
					h.Track(last, first)
				}
				h.Advance(2 * time.Hour)
				if !inOrder && policy == rule.AllowParallel {
					h.RequireSentTimes("u", "f", 2)
					return
				}
				h.RequireSentAt("u", "f", t0.Add(70*time.Minute))
				h.RequireSentTimes("u", "f", 1)
			})
		}
	}
}

// A provider's retry of the first visit, whatever its stamp, is a
// duplicate: it neither cancels nor reschedules.
func TestARetriedVisitDoesNotReschedule(t *testing.T) {
	h := started(t, visitCampaign(rule.KeepFirst))
	t0 := h.Now()
	h.Track(visit("u", "a", t0))
	h.Advance(10 * time.Minute)
	h.Track(visit("u", "a", h.Now()))
	h.Advance(2 * time.Hour)
	h.RequireSentAt("u", "f", t0.Add(time.Hour))
	h.RequireKinds("u", "f", "scheduled", "duplicate/duplicate_event", "delivered")
}

// A trigger and its exception stamped in the same instant, with
// duplicates, give the same outcome through TrackAll as through Track one
// by one, in either order: the exception cancels only when it comes after
// the trigger.
func TestTriggerAndExceptionPairsThroughTrackAll(t *testing.T) {
	at := connectortest.Start.Add(time.Hour)
	rec := event.Event{ID: "r", UserID: "u", Kind: event.EmailReceived, CampaignID: "newsletter", Time: at}
	open := event.Event{ID: "o", UserID: "u", Kind: event.EmailOpened, CampaignID: "newsletter", Time: at}
	cases := []struct {
		name   string
		events []event.Event
		sent   bool
	}{
		{"trigger then exception", []event.Event{rec, open}, false},
		{"exception then trigger", []event.Event{open, rec}, true},
		{"the trigger twice", []event.Event{rec, rec}, true},
		{"trigger, exception, the trigger again", []event.Event{rec, open, rec}, false},
		{"exception, trigger, the exception again", []event.Event{open, rec, open}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			one, all := started(t, nil), started(t, nil)
			one.AdvanceTo(at)
			all.AdvanceTo(at)
			one.Track(tc.events...)
			require.NoError(t, all.Engine.TrackAll(context.Background(), tc.events))
			one.Advance(2 * time.Hour)
			all.Advance(2 * time.Hour)
			require.Equal(t, one.Timeline(), all.Timeline())
			if tc.sent {
				all.RequireSentAt("u", "f", at.Add(time.Hour))
				all.RequireSentTimes("u", "f", 1)
			} else {
				all.RequireNotSent("u", "f")
			}
		})
	}
}
