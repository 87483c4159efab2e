// Package campaignconnector sends follow-up messages when users interact
// with your other campaigns: "resend the email to everyone who did not open
// it within a week, unless they bought something", "after someone clicks
// the free-shipping push, send them a 15 % coupon".
//
// It is an embeddable, pure-Go library. Your backend feeds it the
// interaction events its mail, push and SMS providers report; it decides,
// rule by rule, whom to message with which follow-up and when, and asks
// your [connector.Sender] to send it. Transport stays in your application.
// The behaviour follows the Campaign Connector feature of hosted engagement
// platforms, with the points they leave open settled; the manual, docs/ in
// the repository, describes it rule by rule.
//
// This root package holds only documentation. The code lives in:
//
//   - [github.com/campaignconnector/campaignconnector/event]: the 19
//     interactions, custom events, purchases, session starts;
//   - [github.com/campaignconnector/campaignconnector/rule]: campaign
//     definitions — triggers, delays, exceptions, conditions,
//     re-eligibility — and the decisions the engine records;
//   - [github.com/campaignconnector/campaignconnector/connector]: the engine;
//   - [github.com/campaignconnector/campaignconnector/store]: where the
//     engine keeps its state, in memory or (nested module store/postgres)
//     in PostgreSQL;
//   - [github.com/campaignconnector/campaignconnector/connectortest] and
//     [github.com/campaignconnector/campaignconnector/simulate]: test and
//     replay campaigns on a mock clock.
//
// # Campaigns and events
//
// A campaign is an original (no triggers: your application sends it, and
// registers it so follow-ups can name it) or a follow-up: a [rule.Campaign]
// with [rule.Trigger]s, any of which makes it due for a user, a
// [rule.Delay] (immediately, after a duration, next weekday at a time, in N
// days at a time), [rule.Exception]s that cancel the wait, and
// [rule.Reeligibility] (once only by default). Triggers and exceptions name
// an interaction with a campaign ([event.EmailOpened] of "newsletter"),
// optionally a sub-selector (a button, a link alias), or a non-campaign
// event (a purchase, a custom event by name) with property conditions.
//
// Campaigns have a lifecycle: draft → active ⇄ stopped, and archived,
// which is final. A follow-up counts only interactions that happen at or
// after it was published, so publish the follow-up before the original.
// Stopping a follow-up cancels what it had scheduled.
//
// # The engine
//
// [connector.New] builds an [connector.Engine] on a store and a sender.
// [connector.Engine.Track] evaluates one event: exceptions first, then
// triggers, each outcome recorded as a [rule.Decision] (scheduled,
// suppressed and why, cancelled by which exception, duplicate). Nothing is
// sent inside Track; [connector.Engine.TrackAll] takes a batch of events
// for less than Track per event. [connector.Engine.Run] keeps one timer
// armed for the earliest due delivery and sends it then, or call
// [connector.Engine.Tick] on your own schedule. Every delivery has an ID
// that is stable across retries and restarts: delivery is at least once,
// so deduplicate on it.
//
//	engine, err := connector.New(store.NewMemory(), mySender)
//	err = engine.Save(ctx, rule.Campaign{ID: "newsletter"})
//	err = engine.Save(ctx, rule.Campaign{
//		ID:         "resend",
//		Triggers:   []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "newsletter"}},
//		Delay:      rule.After(7 * 24 * time.Hour),
//		Exceptions: []rule.Exception{{Kind: event.EmailOpened, CampaignID: "newsletter"}},
//	})
//	err = engine.Publish(ctx, "resend")
//	err = engine.Publish(ctx, "newsletter")
//	go engine.Run(ctx)
//	// for every provider callback:
//	err = engine.Track(ctx, event.Event{ID: providerEventID, UserID: "ann",
//		Kind: event.EmailReceived, CampaignID: "newsletter"})
//
// Bad input — an unknown kind, a missing user, an interaction without a
// campaign, an invalid campaign — is rejected with a typed error naming the
// field ([event.ValidationError]) and changes nothing.
//
// # Delivery controls
//
// Around each follow-up, opt-in: user time zones and audiences from the
// host's [connector.Directory]; send windows ([rule.SendWindow]) and
// engine-wide quiet hours ([connector.WithQuietHours]) that drop or defer
// deliveries; frequency caps per channel over rolling windows or calendar
// days ([connector.WithFrequencyCaps]); per-minute rate limits; control
// groups (held-out users count as having received the follow-up and the
// engine emits control_group_enrolled); conversion events with deadlines
// (the engine emits conversion_performed); pending policies (keep first,
// replace with latest, allow parallel), allowed lateness for late
// exceptions and a maximum trigger age. Each leaves its own reason in the
// decision log.
//
// # Stores
//
// A [store.Store] keeps campaigns, per-user state (pending deliveries,
// receipts, remembered event IDs) and the queue of due deliveries.
// [store.NewMemory] is fast and loses everything on exit; the nested module
// store/postgres survives restarts and lets several replicas share the
// work: due deliveries are claimed with leases, so two engines never send
// the same one while its lease is live. Any implementation must pass
// store/storetest.
//
// # Testing your campaigns
//
// [connectortest.New] gives a unit test an engine on a mock clock with a
// recording sender, and assertions that print the timeline of decisions
// when they fail:
//
//	h := connectortest.New(t)
//	h.Save(newsletter, resend)
//	h.Publish("resend", "newsletter")
//	h.Track(event.Event{UserID: "ann", Kind: event.EmailReceived, CampaignID: "newsletter"})
//	h.Advance(7 * 24 * time.Hour)
//	h.RequireSent("ann", "resend")
//
// # Receiving provider events
//
// Package webhook and its sub-packages (sendgrid, mailgun, postmark, ses,
// twilio) verify providers' webhook signatures and turn their callbacks
// into events; webhook.NewHandler serves them over net/http with the
// status codes providers expect.
//
// # Observability
//
// [connector.WithObserver] receives every decision; [connector.WithLogger]
// logs them with log/slog; [connector.WithDecisionLog] keeps them per user
// in the store; the nested module otelconnector exports OpenTelemetry
// metrics and spans.
package campaignconnector

// The imports make the documentation's links resolve; this package has no code.
import (
	_ "github.com/campaignconnector/campaignconnector/connector"
	_ "github.com/campaignconnector/campaignconnector/connectortest"
	_ "github.com/campaignconnector/campaignconnector/event"
	_ "github.com/campaignconnector/campaignconnector/rule"
	_ "github.com/campaignconnector/campaignconnector/simulate"
	_ "github.com/campaignconnector/campaignconnector/store"
)
