// Package sqlite is a [store.Store] in one SQLite file: campaigns,
// per-user state and the queue of due deliveries survive restarts, with
// no database server to run. It is the way to run the engine in
// production on one host; for several hosts, use store/postgres.
//
//	s, err := sqlite.Open(ctx, "/var/lib/myapp/campaigns.db")
//	if err != nil { … }
//	defer s.Close()
//	engine, err := connector.New(s, sender)
//
// It is a module of its own (go get
// github.com/campaignconnector/campaignconnector/store/sqlite), so that the
// root module needs no database driver, and it is pure Go
// (modernc.org/sqlite): CGO_ENABLED=0 builds and cross-compiling work.
//
// # Files
//
// The database is the file [Open] is given, created if missing (its
// directory must exist); an existing file that is not empty and does not
// start with SQLite's header (a configuration file, given by mistake) is
// refused with [ErrInvalidPath] and left as it was. Two files are beside
// it while it is open: path+"-wal", the write-ahead log, and path+"-shm",
// the index of the log that the processes using the file share. As those
// names, and that of the journal SQLite creates a new file through, must
// fit in the 255 bytes a name may have, Open refuses with
// [ErrInvalidPath] a new file whose name is longer than 247 bytes, and an
// existing one longer than 251 (see [Open]); on Unix, SQLite takes a full
// path (absolute, links followed) of at most 512 bytes, the journal's
// included, so Open refuses a file whose full path is longer than 504.
// Keep all three on a local file system: write-ahead logging needs
// shared memory between the processes, which network file systems do not
// give. Do not delete, move or replace
// the file while a store has it open: SQLite would go on writing to the
// file it holds, which no process opening the path sees, so the store's
// writes fail with [ErrFileChanged] instead (a file moved in is also read
// with the old file's -wal beside it, which damages it: restore a copy
// only with the processes stopped, see Backups). The store's tables are named
// "campaignconnector_…"; the file may hold other tables of the host's, which
// then share the one writer at a time described below. The log is folded
// back into the database only up to the oldest read still open: a
// transaction of the host's left open on the file (the store's own reads
// are single statements) lets it grow by every write meanwhile: about
// 0.5 KB an event handed over with TrackAll, and tens of KB a Track,
// which commits whole pages on its own.
//
// [Open] creates or upgrades the tables before it returns: the
// migrations are embedded, versioned in the table
// campaignconnector_migrations and applied in one transaction holding the
// file's write lock, so stores opening a file together, in any number of
// processes, are safe, and a restart finds nothing to do. A file migrated
// by a newer version of this package is accepted: migrations add tables,
// columns and indexes (an index gives way only to a wider one that serves
// the same look-ups), so that processes of the previous version keep
// working on an upgraded file. The campaign definitions such a version
// stored are read without the fields this version does not know
// ([rule.DecodeStoredCampaign]), and a pending delivery it wrote that
// this one cannot read (an event kind it does not know) is left to the
// processes that can ([Store.Claim], [Store.CancelCampaign]). The
// upgrade that gives pending rows their due time (for the pending list)
// decodes every pending row once, holding the write lock: 20 to 35 µs a
// row on a busy two-core machine (BenchmarkUpgradePendingRows), some 20
// to 35 seconds per million pending deliveries, during which the other
// processes' writes wait, up to about 25 seconds (the busy timeout, five
// times) before they fail: with that many pending, upgrade with the
// other processes stopped.
//
// # Durability
//
// The file is in write-ahead-log mode with synchronous NORMAL (see
// [WithSynchronous]). A transaction is committed when its pages are in the
// log, and a call (an Update, a TrackAll's batch, a delivery's record)
// returns once it committed: it survives the process crashing or being
// killed at any point, and a restarted process finds every acknowledged
// event's effect (a transaction cut short is rolled back whole). The log
// is synced to the disk when it is checkpointed into the database
// (about every 4 MB of changes), not at each commit: a power loss, or the
// operating system crashing, may lose the transactions committed since
// the last sync. The file stays consistent; what is lost is the last
// events' effects (their deliveries not scheduled, or scheduled twice if
// the provider retries) and the last sends' records (those deliveries
// are sent again, with the same ID: hosts deduplicate by ID).
// [SynchronousFull] syncs the log at each commit instead, so that nothing
// acknowledged is lost even then, for one sync per commit (a Track is one
// commit; a TrackAll one per 1,024 events).
//
// # Writers, readers and locking
//
// SQLite lets one connection write at a time, and the store is built for
// it. Each store has one writing connection, which its writes take in
// turn, and a few reading connections ([WithReaders]), which never wait
// for the writer: they read the last committed state. The stores of one
// process opened on the same path share the turn (a Go semaphore per
// file, which a call's context can give up waiting for), so that they
// queue in order instead of polling each other's file locks. Every write is one
// transaction begun with BEGIN IMMEDIATE, which takes the file's write
// lock first, so that its statements never find the file locked half
// way. Other stores on the file (in this process or others) wait for the
// lock at BEGIN, up to the busy timeout ([WithBusyTimeout], 5 seconds),
// and try again, up to 5 times: under normal contention a locked file
// never surfaces as an error. Calls fail with "database is locked" only
// if another connection holds the write lock for about 25 seconds (a
// host's own long transaction on the same file, say). A call whose
// context ends gives up, waiting or not: it returns the context's error
// and changes nothing, unless its commit had begun, in which case it
// completes and returns nil.
//
// [Store.Update], the engine's call for each event Track tracks, is one
// transaction: it records the event ID, reads the user's state and
// pending deliveries, runs the engine's function and writes what
// changed. [Store.UpdateBatch] does the same for up to 1,024 updates in
// one transaction, with multi-row statements: the engine's TrackAll uses
// it for a batch of events, and Tick for each group of deliveries it
// checks before sending, then records. [Store.Claim] is one UPDATE of up
// to a batch of due deliveries, earliest first; as writes take turns,
// claimers in any number of processes get disjoint deliveries. A claim is
// a lease: the delivery's ReadyAt moves to now+lease, so if its engine
// dies it is claimed again when the lease ends, with the same ID. A
// delivery sent but not yet recorded when its process died is sent again
// then: at least once, twice only for the sends in flight at the crash.
//
// # Several engines, several processes
//
// Any number of engines may use one store, and any number of stores (in
// one process or several) may open one file: they share the queue and
// its work, as the replicas of the PostgreSQL store do. Two things are
// not instantaneous between stores:
//
//   - [Store.Revision], which the engine reads on every event, is kept in
//     memory: campaign changes made through this store are seen at once,
//     those made through another store within the revision max age
//     ([WithRevisionMaxAge], one second).
//   - [Store.Notify] (the store implements [store.Notifier], so engines'
//     Run does not poll): an update that schedules a delivery due before
//     every other one wakes this store's subscribers at once and bumps a
//     wake-up counter in the file, in its transaction; each store looks
//     at the counter every notify interval ([WithNotifyInterval], 100
//     milliseconds) while it has subscribers, so engines in other
//     processes wake within that interval.
//
// So hosts running several processes on one file need not set
// connector.WithPollInterval. A process killed between its commit and the
// others' next look loses nothing: the counter is in the file.
//
// # Backups
//
// [Store.Backup] writes a consistent copy of the database to a new file
// (VACUUM INTO) while the engines run: it reads a snapshot, so writes go
// on meanwhile. The copy is compact. It is written to a hidden file
// beside the backup's path, synced to disk, and only then given the
// backup's name, whose directory is then synced (where the process may
// read it): a file at a backup's path is always a whole copy, even after
// a crash or a kill during the backup, which leaves only its hidden
// ".NAME.partial-…" file (and that file's -journal). On Linux, on a local
// file system, the next Backup to that path removes them (a running
// backup's, which it holds locked, excepted); elsewhere, remove them once
// no backup to that path is running: a running backup's files look the
// same, and removing them fails it. The database's -wal and -shm files, which
// the killed process leaves too, hold its last commits: keep them, the
// next Open takes them in. Backup
// never overwrites a file that holds data: of several backups to one path
// at once, in one process or several, one takes the name and the others
// fail with [ErrBackupExists]. A backup is not named as SQLite names the
// files it keeps beside a database (ending in -journal, -wal or -shm):
// SQLite would take it for one of them, so Backup refuses such a name
// with [ErrInvalidPath], as it does a name longer than 247 bytes, whose
// journal's name would not fit in the 255 bytes a name may have: Open
// could not open the copy (and refuses such a name for a new file too),
// a full path longer than 504 bytes (on Unix; less for a name shorter
// than 226 bytes, as the partial file's full path must fit too: see
// [Store.Backup]),
// and a name such as a partial file's
// (".NAME.partial-" and 16 hexadecimal digits), which a backup to NAME
// would take for a dead backup's file and remove. Restore a copy by stopping the processes, removing the file
// with its -wal and -shm files, and putting the copy in its place. Copying
// the file with cp while a store has it open may give a torn copy (the
// recent changes are in the -wal file): use Backup, or stop the processes
// first.
//
// A restored copy takes the engines' state back to when its backup began:
// events tracked since are gone, and deliveries sent since are pending
// again, sent once more when due with the same IDs (hosts deduplicate by
// ID, as after a crash).
//
// # Pruning and file size
//
// The engine calls [Store.Prune] every minute or so: it deletes expired
// event IDs, counters and logged interactions, and prunes users with
// expired receipts, sends, conversion windows or old decisions (found by
// index), in transactions of up to 1,000 rows, so that the engines'
// writes interleave. Freed pages are reused by later writes, so under
// steady traffic the file levels off at what the retention windows hold
// (the dedup window, 72 hours by default, is usually the largest); when
// more than a quarter of the file is free (after a burst), Prune gives up
// to 10,000 pages (40 MB) back to the file system per call.
//
// Beside the file, the -wal file grows by whole pages at every commit
// (tens of KB a Track) up to about 4 MB, when a checkpoint copies it into
// the database and it starts over, keeping its size: leave that much
// room on the file system on top of the database. A full disk fails
// writes (and an Open that must create or upgrade the file) with an
// error that names the file and, on Linux and macOS, the bytes free, and
// for which errors.Is(err, syscall.ENOSPC) holds when under 64 KB are
// free; reads go on, nothing acknowledged is lost, and writes succeed
// again once there is room. What a call reports failed was not stored:
// track those events again then.
//
// # Decision tallies and the pending list
//
// The store implements [store.Tallier] and [store.PendingLister], so that
// connector's Engine.Tallies and Engine.PendingDeliveries, and the
// dashboard, work on it: the tallies in the file are those of every engine
// on it, in any process.
//
// Each engine adds its decision counts to the file every 5 seconds while
// it has new ones ([Store.AddTallies]): one write transaction, which
// upserts a row per (hour, follow-up, kind, reason, rule) that gained
// counts: for tens of rows, a few hundred microseconds of the writer's
// time (BenchmarkAddTallies), what a few Tracks take. The file holds
// one row of about 60 bytes per such key and hour: 20 follow-ups with 10
// kinds and reasons in use each, kept 30 days, are 144,000 rows, about
// 9 MB. The engine's prune removes the hours past its tally retention
// (connector.WithTallyRetention, 30 days by default) with
// [Store.PruneTallies], in transactions of up to 1,000 rows;
// connector.WithoutTallies turns the counting off.
//
// [Store.ListPending] reads a page on a reading connection, in one
// snapshot, from an index on (namespace, follow-up, due time, ID): a page
// of one follow-up costs about its rows; a page of every follow-up reads
// up to a page's worth from each follow-up with deliveries and keeps the
// earliest: a page of 1,000 among 20 follow-ups reads 20,000 rows, some
// 40 ms of a reading connection's time (BenchmarkListPending), which the
// writer does not wait for. Due times are compared exactly, to the
// nanosecond. Deliveries a process of the previous version scheduled
// during a rolling upgrade are listed too, in their place, found by an
// index of their own until a write of this version updates them. A
// delivery this version cannot read (a newer version's) fails the page,
// naming it. Cancellations by follow-up use the same index.
//
// # Limits
//
// One machine: the processes must share the file system and its locks.
// Writes are serialized, so throughput is that of one writer, bound by
// its CPU: on a current x86 core a Track costs about 0.12–0.16 ms of CPU
// (a transaction each), an event handed over with TrackAll about 25 µs, a
// delivery (claimed, checked, recorded) about 80–110 µs; with a million
// deliveries pending rather than ten thousand, each costs about as much
// (from no more up to 1.6 times as much, between runs on a shared
// machine: BENCHMARKS.md has the figures). PostgreSQL with its server spends about as much per
// TrackAll event and per delivery and twice as much per Track, but on
// every core; reads scale with the readers.
// A delivery's row holds its trigger event, properties included, as
// JSON: a few hundred bytes each. Times are kept as integer nanoseconds
// since 1970, exact from 1677 to 2262 (the zero time is kept as such;
// others outside that span are clamped), and, as with the memory store,
// an Update, UpdateBatch op, Claim, Take or Prune whose now lies outside
// that span fails with store.ErrTimeRange. Event properties round-trip as
// JSON: numbers come back as json.Number. Strings are kept whole, NUL
// bytes included.
//
// Nothing here reads the wall clock for semantics: every comparison uses
// the now the engine passes. The store reads the monotonic clock only to
// age its revision cache and pace its look at the wake-up counter.
package sqlite
