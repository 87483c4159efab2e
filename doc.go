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
// platforms, with the points they leave open settled; the [manual]
// describes it rule by rule, with every edge case.
//
// # Packages
//
// This root package holds only documentation. The code lives in:
//
//   - [github.com/campaignconnector/campaignconnector/event]: what your
//     application reports: the 19 interactions, custom events, purchases,
//     session starts, and their validation;
//   - [github.com/campaignconnector/campaignconnector/rule]: campaign
//     definitions (triggers, delays, exceptions, conditions,
//     re-eligibility, delivery controls), the lifecycle, and the decisions
//     the engine records with their reasons;
//   - [github.com/campaignconnector/campaignconnector/connector]: the
//     engine;
//   - [github.com/campaignconnector/campaignconnector/store]: where the
//     engine keeps its state: the [store.Store] contract, the memory store,
//     and store/storetest, the conformance suite every store passes;
//   - [github.com/campaignconnector/campaignconnector/connectortest]: a
//     harness for unit tests of your campaigns;
//   - [github.com/campaignconnector/campaignconnector/simulate]: campaigns
//     on a simulated clock, and replays of event logs (dry runs);
//   - [github.com/campaignconnector/campaignconnector/webhook]: provider
//     callbacks turned into events, served by an http.Handler, with one
//     sub-package per provider (sendgrid, mailgun, postmark, ses, twilio),
//     each with a companion that plays the provider in your tests
//     (sendgridtest…);
//   - [github.com/campaignconnector/campaignconnector/dashboard]: a web
//     dashboard of the engine, one http.Handler to mount in your server.
//
// Three nested modules, each its own go get, keep their dependencies out
// of this module: [store/postgres] (PostgreSQL, with pgx), [store/sqlite]
// (one SQLite file, pure Go) and [otelconnector] (OpenTelemetry metrics
// and spans).
//
// # Campaigns and events
//
// A campaign is an original (no triggers: your application sends it, and
// registers it so follow-ups can name it) or a follow-up: a [rule.Campaign]
// with triggers ([rule.Trigger]), any of which makes it due for a user, a
// [rule.Delay] (immediately, after a duration, next weekday at a time, in N
// days at a time), exceptions ([rule.Exception]) that cancel the wait, and
// [rule.Reeligibility] (once only by default). Triggers and exceptions name
// an interaction with a campaign ([event.EmailOpened] of "newsletter"),
// optionally a sub-selector (a button, a link alias), or a non-campaign
// event (a purchase, a custom event by name) with property conditions.
//
// Campaigns have a lifecycle: draft → active ⇄ stopped, and archived,
// which is final. A follow-up counts only interactions that happen at or
// after it was published, so publish the follow-up before the original.
// Stopping a follow-up cancels what it had scheduled. Campaigns defined in
// code or files go in with [connector.Engine.Apply], which saves and
// publishes a set in the order that loses nothing and changes nothing
// when the set is already in place: call it at every start. See
// [lifecycle].
//
// # The engine
//
// [connector.New] builds a [connector.Engine] on a store and a sender.
// [connector.Engine.Track] evaluates one event: exceptions first, then
// triggers, each outcome recorded as a [rule.Decision] (scheduled,
// suppressed and why, cancelled by which exception, duplicate). Nothing is
// sent inside Track; [connector.Engine.TrackAll] takes a batch of events
// for less than Track per event ([connector.TrackErrors] lists the ones it
// did not track). [connector.Engine.Run] keeps one timer armed for the
// earliest due delivery and sends it then, or call [connector.Engine.Tick]
// on your own schedule. Every delivery has an ID that is stable across
// retries and restarts: delivery is at least once, so deduplicate on it.
//
//	engine, err := connector.New(store.NewMemory(), mySender)
//	err = engine.Apply(ctx, []rule.Campaign{
//		{ID: "newsletter"},
//		{
//			ID:         "resend",
//			Triggers:   []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "newsletter"}},
//			Delay:      rule.After(7 * 24 * time.Hour),
//			Exceptions: []rule.Exception{{Kind: event.EmailOpened, CampaignID: "newsletter"}},
//		},
//	})
//	go engine.Run(ctx)
//	// for every provider callback:
//	err = engine.Track(ctx, event.Event{ID: providerEventID, UserID: "ann",
//		Kind: event.EmailReceived, CampaignID: "newsletter"})
//
// Bad input — an unknown kind, a missing user, an interaction without a
// campaign, an invalid campaign — is rejected with a typed error naming the
// field ([event.ValidationError]) and changes nothing. See [events],
// [triggers and delays], [exceptions], [eligibility] and [reliability].
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
// decision log. See [delivery controls].
//
// # Stores
//
// A [store.Store] keeps campaigns, per-user state (pending deliveries,
// receipts, remembered event IDs) and the queue of due deliveries. Three
// implementations behave the same, and each passes store/storetest:
//
//   - [store.NewMemory] keeps everything in the process: fast, for tests,
//     simulations and hosts that can lose pending deliveries on exit;
//   - [store/sqlite] keeps it in one SQLite file: restarts lose nothing,
//     with no database server, for one host;
//   - [store/postgres] keeps it in PostgreSQL, for several replicas: due
//     deliveries are claimed with leases, so two engines never send the
//     same one while its lease is live.
//
// See [stores] for how to choose, and what each costs.
//
// # Receiving provider events
//
// The provider packages under webhook verify their provider's signature
// and turn its callbacks into events; [webhook.NewHandler] serves them over
// net/http with the status codes providers expect (a retry only for what a
// retry can fix) and lists, by position, the items that could not become
// events. See [webhooks].
//
// # Testing your campaigns
//
// [connectortest.New] gives a unit test an engine on a mock clock with a
// recording sender, and assertions that print the timeline of decisions
// when they fail:
//
//	h := connectortest.New(t)
//	h.Apply(newsletter, resend)
//	h.Track(event.Event{UserID: "ann", Kind: event.EmailReceived, CampaignID: "newsletter"})
//	h.Advance(7 * 24 * time.Hour)
//	h.RequireSent("ann", "resend")
//
// [simulate.Replay] runs an event log against campaign definitions: the
// simulator it returns holds every decision the engine would take. See [testing] and
// [diagnostics] ([connector.Engine.Explain] tells why a user got, or did
// not get, a follow-up; [connector.Engine.Check] finds hazards in the
// definitions).
//
// # Observability
//
// [connector.WithObserver] receives every decision; [connector.WithLogger]
// logs them with log/slog; [connector.WithDecisionLog] keeps them per user
// in the store; [connector.Engine.Stats] counts what the store holds and
// the events the engine took; [otelconnector] exports OpenTelemetry
// metrics and spans. [dashboard.New] serves pages of live follow-ups,
// their funnels, a user's timeline and the engine's health. See
// [observability] and [the dashboard page].
//
// [manual]: https://github.com/campaignconnector/campaignconnector/blob/main/docs/README.md
// [lifecycle]: https://github.com/campaignconnector/campaignconnector/blob/main/docs/lifecycle.md
// [events]: https://github.com/campaignconnector/campaignconnector/blob/main/docs/events.md
// [triggers and delays]: https://github.com/campaignconnector/campaignconnector/blob/main/docs/triggers-and-delays.md
// [exceptions]: https://github.com/campaignconnector/campaignconnector/blob/main/docs/exceptions.md
// [eligibility]: https://github.com/campaignconnector/campaignconnector/blob/main/docs/eligibility.md
// [delivery controls]: https://github.com/campaignconnector/campaignconnector/blob/main/docs/delivery-controls.md
// [reliability]: https://github.com/campaignconnector/campaignconnector/blob/main/docs/reliability.md
// [stores]: https://github.com/campaignconnector/campaignconnector/blob/main/docs/stores.md
// [webhooks]: https://github.com/campaignconnector/campaignconnector/blob/main/docs/webhooks.md
// [testing]: https://github.com/campaignconnector/campaignconnector/blob/main/docs/testing.md
// [diagnostics]: https://github.com/campaignconnector/campaignconnector/blob/main/docs/diagnostics.md
// [observability]: https://github.com/campaignconnector/campaignconnector/blob/main/docs/observability.md
// [the dashboard page]: https://github.com/campaignconnector/campaignconnector/blob/main/docs/dashboard.md
// [store/postgres]: https://pkg.go.dev/github.com/campaignconnector/campaignconnector/store/postgres
// [store/sqlite]: https://pkg.go.dev/github.com/campaignconnector/campaignconnector/store/sqlite
// [otelconnector]: https://pkg.go.dev/github.com/campaignconnector/campaignconnector/otelconnector
package campaignconnector

// The imports, each used once below, make the documentation's links
// resolve: a link such as [connector.Sender] needs its package imported
// under its name, which a blank import does not give. This package has no
// other code.
import (
	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/connectortest"
	"github.com/campaignconnector/campaignconnector/dashboard"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/simulate"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/campaignconnector/campaignconnector/webhook"
)

var (
	_ connector.Sender
	_ *connectortest.Harness
	_ dashboard.Option
	_ event.Event
	_ rule.Campaign
	_ *simulate.Simulator
	_ store.Store
	_ webhook.Parser
)
