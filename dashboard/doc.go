// Package dashboard is a web dashboard of a campaignconnector engine, as one
// http.Handler that a host mounts in its own server: which follow-ups are
// live, how many users each triggered, how many an exception cancelled,
// how many were sent, held out and converted, and why a given user got (or
// did not get) a message.
//
//	h, err := dashboard.New(engine, dashboard.WithPrefix("/ops/campaigns"))
//	if err != nil { … }
//	mux.Handle("/ops/campaigns/", h)
//
// # Pages
//
//   - Campaigns: the follow-ups, 20 a page in ID order, each with its
//     state, activation, rules in words and pending count, and for the
//     last 24 hours and 7 days the
//     users it triggered, scheduled, cancelled (by which exception),
//     suppressed (by reason), sent, failed, held out, converted (users
//     sent it) and converted while held out, each with a chart over time;
//     then the originals and the follow-ups that name them.
//   - Campaign: its funnel (triggered → scheduled → sent → converted, the
//     conversions of users sent it) and what fell out at each step and
//     why, the conversions of the users sent it beside those of the users
//     held out in its control group, its decisions over time by kind,
//     its pending deliveries with their due times (paged), the warnings of
//     [connector.Engine.Check] that concern it, and its definition as JSON;
//     with [WithActions], buttons to publish, stop or archive it, and, on
//     a stopped or archived follow-up with deliveries still waiting, to
//     cancel them ([connector.Engine.CancelPending]).
//   - User: a user's timeline from [connector.Engine.Explain]: the events
//     that triggered or cancelled a follow-up, the decisions, what was sent
//     and what waits, for every follow-up.
//   - Health: what the store holds ([connector.Engine.Stats]), failed,
//     retried and deferred sends of the last day (the follow-ups with the
//     most failures first), this engine's recent failed sends with their
//     users and errors ([connector.Engine.RecentFailures]), how far the
//     engine's clock is from the store's server clock when the store has
//     one ([connector.Engine.ClockSkew]), and the warnings (overdue
//     deliveries first); each list shows 100 rows at most. While the store
//     does not answer, the page shows what needs no store (the engine's
//     own event counts and recent failed sends) and a notice in each part
//     it could not read, with status 200.
//
// The pages are rendered on the server and work without JavaScript; a
// small embedded script refreshes their figures in place while they are
// visible ([WithRefresh]). Charts are SVG drawn on the server, with axes,
// units and times in the zone of [WithLocation].
//
// # Where the figures come from
//
// The counts are the store's hourly decision tallies, which every engine
// of a namespace adds to as it decides: any replica's dashboard shows the
// whole namespace's figures, and they survive restarts. A store that keeps
// no tallies, or cannot list pending deliveries, gets pages that say so
// where those figures would be. A user's timeline needs the engine's
// decision log ([connector.WithDecisionLog]).
//
// # Security
//
// The handler reads only, unless [WithActions] enables publishing,
// stopping, archiving and cancelling what a stop left pending: those are
// POST forms, protected against cross-site request forgery by a token
// bound to a SameSite=Strict session cookie and by refusing cross-origin
// requests; a GET never changes anything. [WithBasicAuth] asks every request for a password, compared
// in constant time; otherwise put the handler behind the host's own
// authentication. Every page is sent with a Content-Security-Policy that
// lets it load only the dashboard's own embedded script, stylesheet and
// icon, run no inline script and be framed by no one, with
// X-Content-Type-Options: nosniff. Everything that comes from users or
// campaign definitions (IDs, properties, messages, details) is escaped.
//
// Links and forms are relative to the page, and every page sits at the top
// of the mount point (campaign?id=…), so the dashboard works under any
// prefix, whether [WithPrefix] strips it or the host's http.StripPrefix
// does.
package dashboard
