// Package postgres is a [store.Store] in PostgreSQL, with pgx: campaigns,
// per-user state and the queue of due deliveries survive restarts, and any
// number of engines, in any number of processes, share them.
//
//	s, err := postgres.Open(ctx, "postgres://app@db/app?pool_max_conns=20")
//	if err != nil { … }
//	defer s.Close()
//	engine, err := connector.New(s, sender)
//
// [New] takes a [pgxpool.Pool] the host already has instead. It is a
// module of its own (like river's riverpgxv5), so that the root module
// needs no database driver.
//
// # Migrations
//
// [Open] and [New] create or upgrade the tables before returning: the SQL
// is embedded, versioned in the table prefix+"migrations" and applied in
// one transaction under an advisory lock, so replicas starting together
// are safe and a restart finds nothing to do. Where the application's
// role may not change the schema, run [Migrate] from a deployment step and
// open with [WithMigrate](false). The application's role then needs USAGE
// on the schema and SELECT, INSERT, UPDATE and DELETE on every table of
// the store, including those a later migration adds: ALTER DEFAULT
// PRIVILEGES FOR ROLE (the migrating role) grants them as they are made.
// A role with USAGE and SELECT only opens the store and reads (an engine's
// Tallies and PendingDeliveries, as a dashboard that changes nothing
// does); its writes fail. A missing privilege fails the calls that need
// it, with PostgreSQL's error naming the table. A schema newer than the package is
// accepted: migrations keep the previous version working, so rolling
// upgrades work, with one exception. Version 3 keeps pending deliveries
// and user states in a binary encoding of the store's instead of JSON,
// converting every row in its transaction, and version 4 drops the JSON
// columns: processes that wrote JSON (builds from before the first
// release, v0.1.0) cannot run against the upgraded schema, so stop them
// before the upgrade (nothing else changes for the host); see [Migrate]
// for how long it holds the tables. The campaign
// definitions a newer version stored are read without the fields this
// version does not know ([rule.DecodeStoredCampaign]), and a pending
// delivery it wrote that this one cannot read (an event kind it does not
// know) is left to the processes that can ([Store.Claim],
// [Store.CancelCampaign]). The tables go in the connection's current
// schema (usually public), named "campaignconnector_…"; [WithSchema] and
// [WithTablePrefix] change that, for instance to run several independent
// stores in one database.
//
// # Transactions
//
// [Store.Update], the engine's call for each event Track tracks, is one
// READ COMMITTED transaction of two round trips: the first takes the
// user's advisory lock, looks the event ID up and reads the user's rows
// (its pending deliveries FOR UPDATE); the engine's function runs; the
// second writes what changed (the event ID among it) and commits.
// Updates of different users do not wait for each other. A deadlock or
// serialization failure runs the function again (it is deterministic),
// at most 5 times.
//
// Every write of the store that another replica may race (its
// transactions, Take's counter upsert, Prune's deletes, AddTallies, the
// migrations New applies) runs
// in a READ COMMITTED transaction, the level its locking is built for,
// whatever default_transaction_isolation the pool's connections set: the
// host may run its own queries at REPEATABLE READ or SERIALIZABLE on the
// same pool. The reads of one statement, and AppendInteractions' INSERT
// of new rows, run at the pool's level, which they do not depend on.
// Round trips are counted once a connection has prepared the store's
// statements: the first use of a statement on a connection adds one.
//
// [Store.UpdateBatch] does the same for many users in one transaction of
// two round trips per 1,024 updates (the advisory locks taken in key
// order; the writes one statement per table and kind, the rows as arrays):
// the engine's TrackAll uses it for a batch of events, and Tick for the
// calls its send slots share: one call records the sends of many slots
// and confirms each slot's next delivery. A failure on one update's data
// (a value PostgreSQL refuses, which validation keeps out) fails that
// update alone: the rest of its chunk is applied again without it. Any
// other failure rolls back, and fails, the whole chunk.
//
// [Store.Claim] is one UPDATE … FOR UPDATE SKIP LOCKED statement: engines
// claiming at once get disjoint deliveries without waiting, and a
// delivery an Update holds is left for the next Claim. It runs in a
// transaction of its own, with Update's planner settings, sent in one
// round trip: it reads the due rows from the ready index in order, up to
// its limit, however stale the table's statistics. A claim is a lease:
// the delivery's ReadyAt moves to now+lease, so if its engine dies it is
// claimed again when the lease ends, with the same ID. While an engine
// sends a delivery, it keeps the lease: the last check before the send
// leaves it at least half its length, and the engine renews it while the
// send lasts. connector.New rejects a lease (connector.WithLease) that is
// not longer than the send timeout; within that, the lease is how long a
// delivery whose send was in flight when its engine died waits to be sent
// again. A delivery that waits in a claimed batch past its lease may be
// claimed by another engine, which then sends it: the first skips it.
//
// # Query plans
//
// Every statement on the hot paths (Update, UpdateBatch, Claim, NextDue,
// Prune) reads an index or goes by ctid, in the plan a connection caches
// as well as in a fresh one: docs/postgres-plans.md in the repository
// shows their EXPLAIN on a namespace of a million users, pending
// deliveries and remembered event IDs. Update, UpdateBatch and Claim run
// with sequential scans, bitmap scans, hash and merge joins disabled in
// their transactions, so that a plan made while a table was small, or
// before it was ever analyzed, keeps looking rows up by key once it is
// large; Prune reads expired rows in the order of their indexes.
//
// # Several replicas
//
// Replicas share everything through the database; nothing is cached
// between calls but the campaign revision. [Store.Revision], which the
// engine calls on every event, is served from memory: every campaign
// change notifies its new revision (NOTIFY, in its transaction) to a
// connection each store keeps LISTENing, outside its pool. While that
// connection is up and answered a ping within the revision max age (one
// second; see [WithRevisionMaxAge]) the cached revision is current to
// within the notification's delivery time, milliseconds; while it is not,
// Revision queries at most once per max age per namespace, so the value
// it serves is never older than that.
//
// The store implements [store.Notifier] the same way: an Update that
// schedules a delivery (or makes one ready earlier) due no later than
// every other user's delivery of its namespace wakes the engines of all
// replicas, so their Run need not poll. It looks for an earlier delivery
// in the same round trip as its COMMIT, after it: an engine that claims
// that earlier delivery then looks for the next one after this commit.
// The notifications are sent after the commit, coalesced (at most one
// round trip in flight per store): a NOTIFY in each Update's transaction
// would serialize all their commits on PostgreSQL's notification lock.
// When the notification connection comes back after a failure,
// subscribers are woken (what was notified meanwhile is lost);
// a process that dies between an Update's commit and its notification
// leaves other engines to find that delivery at their next wake-up, which
// connector.WithPollInterval bounds if needed.
//
// # Pool sizing
//
// An Update or UpdateBatch holds a connection for two round trips per 1,024
// updates, a Claim for one. While it sends, each engine makes at most four
// UpdateBatch calls at once (the store calls its send slots share, each
// recording and confirming the deliveries of many slots) and up to four
// Claims (one per feed of claimed deliveries); a slot checking a delivery
// of a rate-limited follow-up makes one short counter upsert (a transaction
// of one round trip) of its own, and while the server fails, each slot may
// briefly hold a connection for an Update of its own delivery (a record
// retried, a claim given back). So a pool of as many connections as the
// host runs concurrent Track and TrackAll calls, plus about eight per
// sending engine, is plenty; pgxpool's default is the larger of 4 and the
// number of CPUs. A call that finds every connection busy waits for one
// (until its context ends) rather than fail. Each store adds one connection
// of its own for LISTEN. The store needs a session (LISTEN, advisory locks
// held across the statements of a transaction): behind PgBouncer, use
// session pooling or point the store at the server. It also needs
// statements the server describes: a pool whose default query exec mode
// is exec or simple_protocol is refused ([ErrUnsupportedExecMode]).
//
// # Outages
//
// While the server is away (a restart, a failover), the store's calls
// fail with its errors: Track returns them to the host, whose provider
// retries the webhook; the engine's Run logs them and tries again after
// 100 ms, then after twice as long each time, up to 2 s. When the server
// is back, the first call succeeds: the pool's connections to the old
// server are dropped before use, not one failed call each, because [Open]
// configures its pool with [ShouldPing], which looks at each connection's
// socket (no round trip) before handing it out and pings it if the server
// has closed it — give a pool of your own the same check before passing
// it to [New]. The notification connection reconnects by itself (backoff
// from 100 ms to 5 s) and wakes the engines when it is back. An outage
// thus delays deliveries by its length plus at most about 2 s and the
// time to connect, but for those it left claimed (a Claim that committed
// while its reply was lost, a claim the engine could not give back while
// the server was away): they wait for their lease to end.
//
// A connection lost during a call (the server restarting, its backend
// terminated, a proxy in between restarting) fails that call with the
// driver's error; if the loss came after the call's COMMIT was sent, the
// error adds that the transaction may have committed, so that a retry
// finding its changes stored (an event ID remembered, a delivery leased)
// is no surprise.
//
// A server that does not answer at all (a host gone from the network,
// rather than a refused connection) holds each attempt to connect until
// the call's context ends or the operating system gives up, minutes
// later: put connect_timeout (in seconds) in the DSN to bound it.
//
// For Update, UpdateBatch, UpdateCampaign and CancelCampaign (what Track,
// TrackAll, Tick's records and the lifecycle changes use), a call's
// context ending stops its transaction before the round trip that commits
// it, never during it: once the writes and COMMIT are sent,
// the call waits for the server's answer, up to 30 s after the context
// ended, so that what it reports is what the database holds (under a
// context without a deadline, 5 minutes at most). A Track, a Stop or a
// Publish whose context ends at the wrong moment can therefore return
// that much later than its deadline. Only a connection lost during that
// round trip (or a commit going on past those bounds) leaves the outcome
// unknown: the call fails, saying why, and its changes may have been
// stored.
//
// # Pruning
//
// The engine calls [Store.Prune] every minute or so; it deletes expired
// event IDs, counters and logged interactions in batches of 1000, and
// finds users with expired receipts, sends, conversion windows or old
// decisions through partial indexes, pruning them in batches under their
// locks. Its cost follows what expired, not the size of the tables.
//
// # Dashboards
//
// The store implements [store.Tallier]: the engines of a namespace add
// their decision counts, per follow-up and hour, to one table with an
// upsert every few seconds, and [Store.PruneTallies] deletes the hours
// past the engine's retention in batches. It implements
// [store.OnceTallier], so that counts are added once even when the reply
// to their upsert is lost after its commit: each engine numbers its
// batches, and one statement upserts the engine's row in a table of
// writers (its latest number and hour) and, only when that row takes the
// batch's number, the counts; the engine sends a failed batch again
// under its number. A writer's row goes with the tallies of its latest
// hour. [Store.Tallies] reads the tallies of some campaigns
// ([store.TallyQuery] CampaignIDs, or CampaignID) from an index on
// (namespace, campaign, hour), one short range per campaign, and those of
// some decision kinds (Kinds) from the same ranges, the entries of other
// kinds left out. It implements
// [store.PendingLister] with an index on (namespace, follow-up, due time,
// ID): a page of a follow-up's pending deliveries is an index range scan,
// and a page of all of them one look-up per follow-up with deliveries
// more. The due time of a pending delivery is kept in a column of its
// own, rounded down to the microsecond; the listing orders by it.
//
// # Times and values
//
// PostgreSQL keeps microseconds. ReadyAt, and the now of Claim, are
// rounded down to the microsecond, so a delivery is never due later than
// asked (at worst a microsecond early); expiry times (event IDs' KeepUntil,
// counters, logged interactions) are rounded up, so nothing is forgotten
// early; campaign records' times are rounded down. Times inside the
// documents the store keeps (a delivery's DueAt, events, receipts, sends,
// decisions) keep their nanoseconds and zone offset. Event properties
// round-trip as JSON would: numbers come back as json.Number. Namespaces,
// user IDs, event IDs and campaign IDs are PostgreSQL text: they cannot
// contain NUL bytes or invalid UTF-8, which validation rejects for every
// store (see the event package), along with the rest of what this store
// could not keep.
//
// Nothing here reads the wall clock for semantics: every comparison uses
// the now the engine passes. The store reads the monotonic clock only to
// age its revision cache and pace its notification connection, and the
// server's clock only in [Store.ServerNow] ([store.ServerClock]), which
// connector's Engine.ClockSkew compares the engine's clock with.
package postgres
