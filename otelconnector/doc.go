// Package otelconnector reports what a campaignconnector engine does as
// OpenTelemetry metrics and spans. It is a separate Go module so that the
// core engine depends on no telemetry library: hosts that want OpenTelemetry
// import this module, the others pay nothing.
//
// A [Telemetry] is both a [connector.Observer] (it counts the engine's
// decisions) and a [connector.Instrumentation] (it opens a span around each
// Track and each send, and times the sends). Build one with [New], hand its
// [Telemetry.Options] to connector.New, and register the engine with
// [Telemetry.ObservePending] to publish the number of pending deliveries,
// with [Telemetry.ObserveEvents] to publish its event counts, and with
// [Telemetry.ObserveClockSkew] to publish how far its clock is from the
// store's server clock:
//
//	tel, err := otelconnector.New(
//		otelconnector.WithMeterProvider(mp),
//		otelconnector.WithTracerProvider(tp),
//	)
//	…
//	engine, err := connector.New(st, sender, tel.Options()...)
//	…
//	reg, err := tel.ObservePending(engine)
//	…
//	defer reg.Unregister()
//	events, err := tel.ObserveEvents(engine)
//	…
//	defer events.Unregister()
//	skew, err := tel.ObserveClockSkew(engine)
//	…
//	defer skew.Unregister()
//
// Without [WithMeterProvider] and [WithTracerProvider] the OpenTelemetry
// global providers are used, so a host that installs its SDK with
// otel.SetMeterProvider and otel.SetTracerProvider needs no option at all.
//
// # Metrics
//
// All names start with "campaignconnector."; durations are in seconds, as
// the OpenTelemetry semantic conventions ask.
//
//   - [MetricDecisions] (Int64Counter, unit {decision}): every decision the
//     engine takes, with attributes [AttrDecisionKind] and, when the
//     decision has one, [AttrDecisionReason]. Both sets are closed (see
//     rule.DecisionKind and rule.Reason), so the cardinality is bounded.
//     A suppression of a scheduled delivery when it came due (an audience
//     re-check, a cap, quiet hours) has [AttrDecisionStage] "when_due" too,
//     apart from a trigger suppressed on arrival of the same reason.
//   - [MetricSendDuration] (Float64Histogram, unit s): how long each call
//     of the host's sender took, with [AttrOutcome] "ok" or "error".
//   - [MetricDeliveryLag] (Float64Histogram, unit s): for each delivered
//     follow-up, how late it went out compared with its due time
//     (Decision.At − Decision.DueAt, on the engine's clock: retries, a
//     slow Tick and the send itself show up here, and so do deferrals by
//     quiet hours, send windows and rate limits, and triggers reported
//     after their due time).
//   - [MetricPendingDeliveries] (Int64ObservableGauge, unit {delivery}):
//     the pending deliveries the store holds for a registered source's
//     namespace, read at each collection (through the engine's
//     PendingCount, which counts those alone), for at most [DefaultStatsTimeout]
//     (see [WithStatsTimeout]: a store out of reach must not hold the
//     collection of every metric). It is a gauge rather than an
//     up-down counter because the value is the store's, not the process's:
//     every engine sharing a namespace reports the same number, and summing
//     them would count each delivery once per engine.
//   - [MetricEventsTracked], [MetricEventsUnheard] and
//     [MetricEventsDuplicate] (Int64ObservableCounter, unit {event}): the
//     events a registered engine took, those no follow-up could use (they
//     cost no store write and leave no decision), and those whose ID was
//     already processed, counted by the engine since it started, with
//     [AttrNamespace] when it has one. The engines of one namespace in one
//     process add up, and an engine unregistered while others of its
//     namespace remain leaves its counts in the sum, so that no counter
//     goes down (a back end would read a reset). An event that names an unknown
//     campaign, or an exception outside the wait of a pending delivery, is
//     a decision of kind "ignored", with its reason, in [MetricDecisions].
//   - [MetricClockSkew] (Float64ObservableGauge, unit s): how far a
//     registered engine's clock is ahead of its store's server clock
//     (negative when behind), read at each collection through
//     connector's Engine.ClockSkew, for at most the stats timeout, with
//     [AttrNamespace] when the engine has one. Only a store with a server
//     clock (PostgreSQL) has the gauge. Engines sharing a store agree on
//     due times and leases only as far as their clocks agree: replicas a
//     quarter of the lease apart (15 s with the default lease) can send a
//     delivery twice, and the difference between two replicas' readings
//     is how far apart their clocks are.
//
// [WithCampaignAttribute] adds [AttrCampaignID] to the three synchronous
// metrics. It is off by default: each campaign the host defines then has
// its own series of each, which a host with many campaigns may not
// afford. Only campaigns the engine knows are counted apart: a decision
// of kind "ignored" with reason "unknown_campaign" has no [AttrCampaignID],
// since its campaign ID is the event's, chosen by whoever writes events (a
// webhook's metadata, say). Counted apart, each invented ID would add a
// series, and past the SDK's cardinality limit (2,000 series per metric by
// default) new series, the real campaigns' included, would be folded into
// one overflow series. [Telemetry.StartTrack]'s span names the unknown
// campaign, and [connector.Engine.UnknownCampaigns] lists the latest IDs.
//
// # Spans
//
//   - [SpanTrack] around each Engine.Track, with [AttrEventKind] and, when
//     the event names one, [AttrCampaignID].
//   - [SpanTrackAll] around each Engine.TrackAll, with [AttrEventCount].
//   - [SpanSend] around each call of the sender, with [AttrDeliveryID],
//     [AttrCampaignID] and [AttrDeliveryAttempt].
//
// A span whose operation fails records the error as an exception event and
// has status Error with the error's text. The sender's context carries the
// send span, so spans the sender starts (an HTTP client's, say) are its
// children.
//
// Strings from input are made safe to export: Track's span starts before
// the engine validates the event, and a sender's error may quote a
// provider's reply. OTLP refuses strings that are not valid UTF-8, and one
// such attribute fails the export of its whole batch, so each byte that
// is not part of valid UTF-8, and each NUL byte, becomes U+FFFD in every
// string attribute (spans' and metrics'), in a span's status and in its
// exception event. String attributes are also clipped to 256 bytes, at a
// rune boundary, and errors' texts to 4 KiB, followed by their full size:
// a sender's error may quote a provider's whole reply (an HTML error page),
// and a custom store's or directory's error anything.
//
// # Personal data
//
// User IDs are often e-mail addresses or account numbers, and tracing
// back ends are rarely held to the standards of a user database. Spans
// therefore carry no user identifier unless the host asks: [WithUserID]
// records the ID as is ("user.id"), [WithUserHash] records a keyed hash
// of it ("user.hash") that correlates one user's spans without revealing
// who the user is. Metrics never carry user IDs.
//
// Error texts quote user IDs too: the engine's own (connector:
// directory: is "ann" in "vip": …), and often a sender's. Unless
// WithUserID is given, a span's status and exception event show each
// quoted string (as fmt's %q writes it) that is the ID of a user the
// span is about as <user>. An ID the error writes otherwise (a
// provider's reply naming the address, say) is recorded as it is: keep
// addresses out of the sender's errors, or out of their quotes.
package otelconnector
