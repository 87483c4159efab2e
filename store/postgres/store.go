package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/campaignconnector/campaignconnector/store"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/puddle/v2"
)

// Store is a [store.Store] in PostgreSQL, safe for concurrent use by any
// number of engines, in one process or many. Create it with [Open] or
// [New]; release it with [Store.Close].
//
// It also implements [store.Notifier], across processes, with
// LISTEN/NOTIFY; [store.BatchUpdater], [store.Tallier],
// [store.OnceTallier], [store.PendingLister], [store.PendingCounter],
// [store.CampaignPendingCounter], [store.BatchCanceller] and
// [store.ServerClock] (see the package documentation).
type Store struct {
	pool  *pgxpool.Pool
	owned bool // Close closes pool
	cfg   config
	q     *queries
	salt  uint64 // mixed into advisory lock keys: one lock space per table set

	closed atomic.Bool
	stop   context.CancelFunc // ends the background goroutines
	wg     sync.WaitGroup
	epoch  time.Time // origin of the monotonic clock the revision cache uses

	revs     sync.Map // ns → *revEntry
	listener *listener
	waker    *waker
}

var (
	_ store.Store    = (*Store)(nil)
	_ store.Notifier = (*Store)(nil)
)

// Open connects to the database dsn names (a URL or key=value string, as
// [pgxpool.ParseConfig] reads it, pool settings such as pool_max_conns
// included), brings the schema up to date (see [WithMigrate]) and returns
// a store that owns the pool: [Store.Close] closes it. The pool checks
// each connection before use with [ShouldPing]. A DSN setting
// default_query_exec_mode to exec or simple_protocol fails with
// [ErrUnsupportedExecMode].
func Open(ctx context.Context, dsn string, opts ...Option) (*Store, error) {
	if ctx == nil { // pgxpool would panic in a goroutine of its own, out of the caller's reach
		return nil, errors.New("postgres: open: nil context")
	}
	pcfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: parsing the DSN: %w", err)
	}
	pcfg.ShouldPing = ShouldPing
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: creating the pool: %w", err)
	}
	s, err := newStore(ctx, pool, true, opts)
	if err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// New returns a store using pool, which stays the caller's: [Store.Close]
// does not close it, and the caller must not close it before the store. It
// brings the schema up to date (see [WithMigrate]). Configure the pool
// with [ShouldPing], as [Open] does, so that connections the server
// closed are dropped before use rather than failing a call each. A pool
// whose default query exec mode is exec or simple_protocol fails with
// [ErrUnsupportedExecMode].
//
// Besides the pool's connections the store keeps one connection of its
// own, made with the pool's connection settings, to LISTEN for
// notifications; New fails if it cannot make it.
func New(ctx context.Context, pool *pgxpool.Pool, opts ...Option) (*Store, error) {
	if pool == nil {
		return nil, errors.New("postgres: nil pool")
	}
	return newStore(ctx, pool, false, opts)
}

// ErrUnsupportedExecMode reports a pool whose default query exec mode
// (pgx's DefaultQueryExecMode, default_query_exec_mode in a DSN) the store
// cannot work with: exec and simple_protocol, which send arguments typed
// by their Go types alone, where the store's arrays and documents take
// the types the server describes. The others work, with their caches
// enabled as pgx's defaults have them; pgx's default, cache_statement,
// costs the fewest round trips. The mode is checked in the pool's
// configuration and on a connection of the pool, which a BeforeConnect
// hook may have set otherwise.
var ErrUnsupportedExecMode = errors.New("postgres: unsupported query exec mode")

func checkExecMode(m pgx.QueryExecMode) error {
	switch m {
	case pgx.QueryExecModeExec, pgx.QueryExecModeSimpleProtocol:
		return fmt.Errorf("%w %q: use cache_statement (the default), cache_describe or describe_exec", ErrUnsupportedExecMode, m)
	}
	return nil
}

func newStore(ctx context.Context, pool *pgxpool.Pool, owned bool, opts []Option) (*Store, error) {
	cfg, err := applyOptions(opts)
	if err != nil {
		return nil, err
	}
	// The mode is checked in the configuration first, so that it is
	// reported even with the server down, then on a connection below.
	if err := checkExecMode(pool.Config().ConnConfig.DefaultQueryExecMode); err != nil {
		return nil, err
	}
	// A server that cannot be reached fails here, with an error saying
	// so, rather than in whichever query comes first.
	var connMode pgx.QueryExecMode
	err = pool.AcquireFunc(ctx, func(c *pgxpool.Conn) error {
		connMode = c.Conn().Config().DefaultQueryExecMode
		return c.Ping(ctx)
	})
	if err != nil {
		return nil, wrap("connecting", err)
	}
	if err := checkExecMode(connMode); err != nil {
		return nil, err
	}
	if err := resolveSchema(ctx, pool, &cfg); err != nil {
		return nil, err
	}
	if cfg.migrate {
		err = migrate(ctx, pool, cfg)
	} else {
		err = checkVersion(ctx, pool, cfg)
	}
	if err != nil {
		return nil, err
	}
	s := &Store{
		pool:  pool,
		owned: owned,
		cfg:   cfg,
		q:     newQueries(cfg),
		salt:  hashString(14695981039346656037, cfg.schema+"."+cfg.prefix),
		epoch: time.Now(),
	}
	bg, stop := context.WithCancel(context.Background())
	s.stop = stop
	s.listener = newListener(s, pool.Config().ConnConfig)
	s.waker = newWaker(s)
	ready := make(chan error, 1)
	s.wg.Add(2)
	go func() { defer s.wg.Done(); s.listener.run(bg, ready) }()
	go func() { defer s.wg.Done(); s.waker.run(bg) }()
	select {
	case err = <-ready:
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err != nil {
		stop()
		s.wg.Wait()
		return nil, fmt.Errorf("postgres: listening for notifications: %w", err)
	}
	return s, nil
}

// Close stops the store's background work (sending the wake-up
// notifications still due first, for at most 5 seconds), closes its
// notification connection and, if [Open] made the pool, the pool. Calls
// after Close return [store.ErrClosed]. A call in progress finishes the
// work it has a connection for; one that still needs a connection from
// the pool of [Open] (waiting for a free one, say) returns
// [store.ErrClosed] instead, and what it had committed before stays.
// Close is idempotent.
func (s *Store) Close() {
	if !s.closed.CompareAndSwap(false, true) || s.pool == nil {
		return // closed, or never opened (a zero Store)
	}
	s.stop()
	s.wg.Wait()
	if s.owned {
		s.pool.Close()
	}
}

// Pool returns the pool the store uses.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// begin checks what every method checks first: the store is open and ctx
// is live.
func (s *Store) begin(ctx context.Context) error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	if s.pool == nil {
		return errNotOpened
	}
	return ctx.Err()
}

// errNotOpened is the error of every method of a Store that neither Open
// nor New made (the zero value).
var errNotOpened = fmt.Errorf("%w: a postgres.Store not made by Open or New is not open: use Open or New", store.ErrClosed)

// log reports what the store does in the background and cannot return as
// an error. Without WithLogger, warnings and errors go to the process's
// default logger rather than nowhere, and the rest is dropped.
func (s *Store) log(level slog.Level, msg string, attrs ...slog.Attr) {
	l := s.cfg.logger
	if l == nil {
		if level < slog.LevelWarn {
			return
		}
		l = slog.Default()
	}
	l.LogAttrs(context.Background(), level, "campaignconnector/postgres: "+msg, attrs...)
}

// mono is the store's monotonic clock, for cache ages only: the store's
// semantics use the now its callers pass.
func (s *Store) mono() int64 { return int64(time.Since(s.epoch)) }

// wrap adds the operation's name to a back-end error, keeping ctx's error
// recognisable. A call that asked the pool of [Open] for a connection after
// Close closed it (one waiting for a free connection when Close began, or
// one that needed another connection part way) fails with pgxpool's
// "closed pool": that error also wraps [store.ErrClosed], as every call
// after Close does.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, puddle.ErrClosedPool) && !errors.Is(err, store.ErrClosed) {
		return fmt.Errorf("postgres: %s: %w (%w)", op, store.ErrClosed, err)
	}
	return fmt.Errorf("postgres: %s: %w", op, err)
}

// retryable reports whether err aborted a transaction that may succeed if
// run again: a serialization failure or a deadlock.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

const maxAttempts = 5

// committedBatch is a batch of the statements queue adds, in a READ
// COMMITTED transaction of their own (sqlBegin … COMMIT): the store's
// writes outside Update's transactions, which would otherwise run at the
// pool's default isolation level and, at REPEATABLE READ or SERIALIZABLE,
// fail with serialization errors when two replicas touch the same rows.
func committedBatch(queue func(b *pgx.Batch)) *pgx.Batch {
	b := &pgx.Batch{}
	b.Queue(sqlBegin)
	queue(b)
	b.Queue("COMMIT")
	return b
}

// committed sends b, made by committedBatch, in one round trip; read
// reads the results of the statements between BEGIN and COMMIT. On
// failure the transaction is rolled back; an error that may have left it
// committed says so (commitOutcome).
func (s *Store) committed(ctx context.Context, b *pgx.Batch, read func(pgx.BatchResults) error) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	br := conn.SendBatch(ctx, b)
	_, err = br.Exec()
	if err == nil {
		err = read(br)
	}
	if err == nil {
		_, err = br.Exec()
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		rollback(conn)
	}
	return commitOutcome(err)
}

// execCommitted runs one statement that returns no rows in a transaction
// of its own (committedBatch), and returns its command tag.
func (s *Store) execCommitted(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	var tag pgconn.CommandTag
	b := committedBatch(func(b *pgx.Batch) { b.Queue(sql, args...) })
	err := s.committed(ctx, b, func(br pgx.BatchResults) (err error) {
		tag, err = br.Exec()
		return err
	})
	return tag, err
}

// rollback ends a transaction a failed call left open on conn. It uses its
// own short deadline: ctx may be what failed. If it cannot, the pool
// destroys the connection on release (it is not idle).
func rollback(conn *pgxpool.Conn) {
	if conn.Conn().PgConn().TxStatus() == 'I' {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, _ = conn.Exec(ctx, "ROLLBACK")
}

// Timestamps: PostgreSQL keeps microseconds. Times the queue compares
// (ReadyAt, and the now of Claim) are rounded down, so a delivery is never
// due later than asked; expiry times are rounded up, so nothing is
// forgotten earlier than asked. Times kept inside the documents (DueAt,
// event times, receipts…) keep their nanoseconds.
const us = time.Microsecond

func floorTime(t time.Time) time.Time { return t.Truncate(us).UTC() }

// storedFrom and storedUntil bound the times a query compares with
// (due and ready times, tally hours, interaction times): the engine stamps
// events before the year 9000 and adds delays and windows of under 300
// years. Expiries (kept event IDs, rate-limit counters) are not bounded
// so: queryTime is not for comparisons with them.
var storedFrom, storedUntil = time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)

// queryTime is t as a query compares it with stored times: a time before
// or after every time stored reads as -infinity or infinity, which compare
// with each as t does. A timestamptz holds neither end of Go's range (it
// stops at 4713 BC and 294276 AD), and a bound a caller picks to mean "from
// the start" or "to the end" may lie beyond it.
func queryTime(t time.Time) pgtype.Timestamptz {
	switch {
	case t.Before(storedFrom):
		return pgtype.Timestamptz{InfinityModifier: pgtype.NegativeInfinity, Valid: true}
	case !t.Before(storedUntil):
		return pgtype.Timestamptz{InfinityModifier: pgtype.Infinity, Valid: true}
	}
	return pgtype.Timestamptz{Time: t, Valid: true}
}

func ceilTime(t time.Time) time.Time {
	f := t.Truncate(us)
	if !f.Equal(t) {
		f = f.Add(us)
	}
	return f.UTC()
}

// hashString is FNV-1a over s, continuing from h.
func hashString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * 1099511628211
	}
	return h
}

// userLock is the advisory lock key serializing the updates of one user:
// a 64-bit hash of the table set, namespace and user. Two users sharing a
// key only wait for each other.
func (s *Store) userLock(ns, userID string) int64 { return int64(s.lockHash(ns, userID)) }

// lockHash is the 64-bit hash of the table set (the salt), ns and name
// that the advisory lock keys are made of.
func (s *Store) lockHash(ns, name string) uint64 {
	h := hashString(s.salt, ns)
	h = (h ^ 0xff) * 1099511628211
	h = hashString(h, name)
	h ^= h >> 31
	return h
}

// campaignLock is the advisory lock key serializing the cancellations of
// one campaign (the batches of CancelCampaignBatch and CancelCampaign): a
// 64-bit hash of the table set, namespace and campaign, as userLock's,
// split into the two 32-bit keys of pg_advisory_xact_lock(int4, int4).
// PostgreSQL keeps the locks of two 32-bit keys apart from those of one
// 64-bit key (the users' and Migrate's), so it never waits for a user's
// lock, whatever the hashes. Two campaigns sharing a key only wait for
// each other.
func (s *Store) campaignLock(ns, campaignID string) (int32, int32) {
	h := s.lockHash(ns, campaignID)
	return int32(h >> 32), int32(h)
}

// queries holds the SQL of one table set, rendered once from the
// templates next to the methods that run them.
type queries struct {
	r *strings.Replacer // renders {table} and {prefix} placeholders

	lockUsers, userSelectRows, pendingSelectRows, earlierRows            string
	seenSelectRows, seenSelect, seenInsertRows, seenRenewRows, seenRenew string
	pendingInsertRows, pendingUpdateRows, pendingDeleteRows              string
	userInsertRows, userUpdateRows, userDeleteRows, userRead             string
	seenInsert, userSelect, pendingSelect, earlier                       string
	pendingInsert, pendingUpdate, pendingDelete                          string
	userInsert, userUpdate, userDelete                                   string

	nsLock, nsSelect, nsBump, revision, notify         string
	campaignSelect, campaignsSelect, campaignUpsert    string
	nextDue, claim, cancel, cancelDelete, cancelRecord string
	take, stats, pendingCount, appendInteractions      string
	interactions, interactionsByKey                    string
	pruneSeen, pruneInteractions, pruneCounters        string
	pruneCandidates, prunePostpone, pruneRekey         string
	addTallies, tallies, talliesOf, pruneTallies       string
	talliesKinds, talliesOfKinds                       string
	addTalliesOnce, pruneTallyWriters                  string
	listPending, listPendingAll, campaignPendingCount  string
	cancelBatchKeys, cancelBatchLock                   string
}

// table renders a qualified table name: "schema".prefixname (the prefix
// is a validated lower-case identifier: no quoting needed).
func table(cfg config, name string) string {
	return pgx.Identifier{cfg.schema}.Sanitize() + "." + cfg.prefix + name
}

func newQueries(cfg config) *queries {
	var pairs []string
	for _, t := range []string{"namespaces", "campaigns", "users", "seen", "pending", "counters", "interactions", "migrations", "tallies", "tally_writers"} {
		pairs = append(pairs, "{"+t+"}", table(cfg, t))
	}
	pairs = append(pairs, "{prefix}", cfg.prefix, "{schema}", pgx.Identifier{cfg.schema}.Sanitize())
	r := strings.NewReplacer(pairs...)
	return &queries{
		r:              r,
		lockUsers:      sqlLockUsers,
		seenSelectRows: r.Replace(sqlSeenSelectRows), seenSelect: r.Replace(sqlSeenSelect), seenInsertRows: r.Replace(sqlSeenInsertRows),
		seenRenewRows: r.Replace(sqlSeenRenewRows), seenRenew: r.Replace(sqlSeenRenew),
		userSelectRows: r.Replace(sqlUserSelectRows), pendingSelectRows: r.Replace(sqlPendingSelectRows), earlierRows: r.Replace(sqlEarlierRows),
		pendingInsertRows: r.Replace(sqlPendingInsertRows), pendingUpdateRows: r.Replace(sqlPendingUpdateRows), pendingDeleteRows: r.Replace(sqlPendingDeleteRows),
		userInsertRows: r.Replace(sqlUserInsertRows), userUpdateRows: r.Replace(sqlUserUpdateRows), userDeleteRows: r.Replace(sqlUserDeleteRows),
		userRead:   r.Replace(sqlUserRead),
		seenInsert: r.Replace(sqlSeenInsert), userSelect: r.Replace(sqlUserSelect), pendingSelect: r.Replace(sqlPendingSelect), earlier: r.Replace(sqlEarlier),
		pendingInsert: r.Replace(sqlPendingInsert), pendingUpdate: r.Replace(sqlPendingUpdate), pendingDelete: r.Replace(sqlPendingDelete),
		userInsert: r.Replace(sqlUserInsert), userUpdate: r.Replace(sqlUserUpdate), userDelete: r.Replace(sqlUserDelete),

		nsLock: r.Replace(sqlNSLock), nsSelect: r.Replace(sqlNSSelect), nsBump: r.Replace(sqlNSBump),
		revision: r.Replace(sqlRevision), notify: sqlNotify,
		campaignSelect: r.Replace(sqlCampaignSelect), campaignsSelect: r.Replace(sqlCampaigns), campaignUpsert: r.Replace(sqlCampaignUpsert),
		nextDue: r.Replace(sqlNextDue), claim: r.Replace(sqlClaim), cancel: r.Replace(sqlCancel), cancelDelete: r.Replace(sqlCancelDelete), cancelRecord: r.Replace(sqlCancelRecord),
		take: r.Replace(sqlTake), stats: r.Replace(sqlStats), pendingCount: r.Replace(sqlPendingCount), appendInteractions: r.Replace(sqlAppendInteractions),
		interactions: r.Replace(sqlInteractions), interactionsByKey: r.Replace(sqlInteractionsByKey),
		pruneSeen: r.Replace(sqlPruneSeen), pruneInteractions: r.Replace(sqlPruneInteractions), pruneCounters: r.Replace(sqlPruneCounters),
		pruneCandidates: r.Replace(sqlPruneCandidates), prunePostpone: r.Replace(sqlPrunePostpone), pruneRekey: r.Replace(sqlPruneRekey),
		addTallies: r.Replace(sqlAddTallies), tallies: r.Replace(sqlTallies), talliesOf: r.Replace(sqlTalliesOf), pruneTallies: r.Replace(sqlPruneTallies),
		talliesKinds: r.Replace(sqlTalliesKinds), talliesOfKinds: r.Replace(sqlTalliesOfKinds),
		addTalliesOnce: r.Replace(sqlAddTalliesOnce), pruneTallyWriters: r.Replace(sqlPruneTallyWriters),
		cancelBatchKeys: r.Replace(sqlCancelBatchKeys), cancelBatchLock: r.Replace(sqlCancelBatchLock),
		listPending: r.Replace(sqlListPending), listPendingAll: r.Replace(sqlListPendingAll),
		campaignPendingCount: r.Replace(sqlCampaignPendingCount),
	}
}
