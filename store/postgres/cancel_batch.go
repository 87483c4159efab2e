package postgres

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/campaignconnector/campaignconnector/internal/batchcursor"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
)

var _ store.BatchCanceller = (*Store)(nil)

const (
	// The campaign's cancellation lock (Store.campaignLock), the first
	// lock a cancellation's transaction takes: two walks of the same
	// follow-up (two engines stopping it at once) take their batches in
	// turn, each waiting for the other's batch to end while it holds no
	// other lock, rather than both locking the same users' rows.
	sqlLockCampaign = `SELECT pg_advisory_xact_lock($1::int4, $2::int4)`
	// The keys of the batch: the next $5 rows of the follow-up after the
	// cursor, read in order from the index on (ns, campaign_id, due_at,
	// id), without locks, with their seq, which orders their locks. due_at
	// is never NULL (migration 4).
	sqlCancelBatchKeys = `SELECT user_id, id, due_at, seq FROM {pending}
		WHERE ns = $1 AND campaign_id = $2 AND (due_at, id COLLATE "C") > ($3, $4)
		ORDER BY due_at, id COLLATE "C" LIMIT $5`
	// Those rows, once their users' advisory locks are held, looked up by
	// primary key one key at a time and locked in the keys' order, which
	// the caller makes (user, seq), the order Update locks a user's rows
	// in (as sqlCancel does). The LATERAL subquery (kept apart by OFFSET
	// 0, which also keeps the campaign's test out of it) can only be the
	// inner side of the join, planned for one key: a plain join may read
	// the follow-up's rows from the index on (ns, campaign_id, due_at, id)
	// instead and match every key against them, which statistics taken
	// while the follow-up was small make look cheap, and which takes
	// seconds for a thousand keys and a hundred thousand rows. A row
	// changed since the keys were read is read again, and left (locked
	// until the commit) when it moved to another follow-up; one deleted
	// is gone.
	sqlCancelBatchLock = `SELECT p.user_id, p.id, p.campaign_id, p.ready_at, p.token, p.body
		FROM unnest($2::text[], $3::text[]) AS k(u, i)
		CROSS JOIN LATERAL (SELECT user_id, id, campaign_id, seq, ready_at, token, body FROM {pending}
			WHERE ns = $1 AND user_id = k.u AND id = k.i OFFSET 0 FOR UPDATE) p
		WHERE p.campaign_id = $4
		ORDER BY p.user_id, p.seq`
)

// CancelCampaignBatch implements [store.BatchCanceller]: each call is one
// READ COMMITTED transaction that takes the campaign's cancellation lock
// (an advisory lock of the transaction, which CancelCampaign takes too),
// reads the campaign's record, the keys of
// the next limit rows of the campaign after cursor in (due_at, id) order
// from the index on (ns, campaign_id, due_at, id) (a range scan of limit
// entries, no lock), then takes their users' advisory locks in key order
// and locks the rows in (user, seq) order, as UpdateBatch and Prune take
// them (so that it does not deadlock with them), and deletes the ones of
// the activations up to the one store.CancelThrough gives. A deadlock or serialization failure is
// retried, as CancelCampaign does, and the commit waits as its commit
// does. A row it cannot decode is left and logged at Warn, as
// CancelCampaign leaves it. The cursor holds the last key read, and a
// checksum of it with ns and campaignID: a cursor it did not make, or made
// for another follow-up, is an error wrapping [store.ErrInvalidQuery].
//
// Two walks of the same campaign (two engines stopping it at once) take
// their batches in turn: a batch waits for the other walk's to commit or
// roll back (or its connection to end) before it takes any other lock,
// then reads the rows the other left, so that the two walks remove the
// backlog once between them, and a user's Update waits for one batch at
// most, never for a batch waiting for the other walk's.
func (s *Store) CancelCampaignBatch(ctx context.Context, ns, campaignID, cursor string, limit int) ([]store.Claim, string, error) {
	if err := s.begin(ctx); err != nil {
		return nil, "", err
	}
	if limit < 1 {
		return nil, "", fmt.Errorf("%w: cancellation batch of %d deliveries: the limit is 1 at least", store.ErrInvalidQuery, limit)
	}
	after := batchKey{due: pgtype.Timestamptz{InfinityModifier: pgtype.NegativeInfinity, Valid: true}}
	if cursor != "" {
		var err error
		if after, err = decodeBatchCursor(ns, campaignID, cursor); err != nil {
			return nil, "", err
		}
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, "", wrap("cancel campaign batch", err)
	}
	defer conn.Release()
	for attempt := 1; ; attempt++ {
		out, last, n, unreadable, err := s.cancelBatchOnce(ctx, conn, ns, campaignID, after, limit)
		if err == nil {
			s.logUnreadable("pending deliveries this version cannot read are left to others to cancel (count; the first's user, delivery and error)",
				unreadable, slog.String("namespace", ns), slog.String("campaign", campaignID))
			next := ""
			if n == limit {
				next = encodeBatchCursor(ns, campaignID, last)
			}
			return out, next, nil
		}
		rollback(conn)
		if !retryable(err) || attempt == maxAttempts || ctx.Err() != nil {
			return nil, "", wrap("cancel campaign batch", err)
		}
	}
}

// lockKey is a pending row of a batch of CancelCampaignBatch, as its
// keys' read saw it: its key, and its seq, which orders its lock.
type lockKey struct {
	user, id string
	seq      int32
}

// batchKey is a pending row's place in the walk of CancelCampaignBatch.
type batchKey struct {
	due pgtype.Timestamptz
	id  string
}

// cancelBatchOnce runs one transaction of CancelCampaignBatch: it returns
// the deliveries it removed, the last key it read and how many it read.
func (s *Store) cancelBatchOnce(ctx context.Context, conn *pgxpool.Conn, ns, campaignID string, after batchKey, limit int) (
	out []store.Claim, last batchKey, n int, unreadable []unreadableClaim, err error) {
	hi, lo := s.campaignLock(ns, campaignID)
	b := &pgx.Batch{}
	b.Queue(sqlBegin)
	b.Queue(sqlLockCampaign, hi, lo)
	b.Queue(sqlPlanByIndex)
	b.Queue(s.q.cancelRecord, ns, campaignID)
	b.Queue(s.q.cancelBatchKeys, ns, campaignID, after.due, after.id, limit)
	br := conn.SendBatch(ctx, b)
	var keys []lockKey
	var c cancelRows
	for range 3 { // BEGIN, the campaign's lock, the plan settings
		if _, err = br.Exec(); err != nil {
			break
		}
	}
	if err == nil {
		c.through, err = readCancelThrough(br)
	}
	if err == nil {
		var rows pgx.Rows
		if rows, err = br.Query(); err == nil {
			for rows.Next() {
				var k lockKey
				if err = rows.Scan(&k.user, &last.id, &last.due, &k.seq); err != nil {
					break
				}
				k.id = last.id
				keys = append(keys, k)
			}
			rows.Close()
			if err == nil {
				err = rows.Err()
			}
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, last, 0, nil, err
	}
	n = len(keys)
	if n > 0 {
		// The users' advisory locks first, in key order, as UpdateBatch
		// and Prune take them before they lock the users' rows: an
		// UpdateBatch locks its users' rows in its own order, which
		// locking the rows alone, in (user, seq) order, would deadlock
		// with.
		locks := make([]int64, 0, len(keys))
		for _, k := range keys {
			locks = append(locks, s.userLock(ns, k.user))
		}
		slices.Sort(locks)
		// Then the rows, in (user, seq) order: the statement locks them
		// in the order of its arrays.
		slices.SortFunc(keys, func(a, b lockKey) int {
			if c := strings.Compare(a.user, b.user); c != 0 {
				return c
			}
			return cmp.Compare(a.seq, b.seq)
		})
		users, ids := make([]string, len(keys)), make([]string, len(keys))
		for i, k := range keys {
			users[i], ids[i] = k.user, k.id
		}
		lb := &pgx.Batch{}
		lb.Queue(s.q.lockUsers, int64Array(slices.Compact(locks)))
		lb.Queue(s.q.cancelBatchLock, ns, textArray(users), textArray(ids), campaignID)
		lr := conn.SendBatch(ctx, lb)
		if _, err := lr.Exec(); err != nil {
			lr.Close()
			return nil, last, 0, nil, err
		}
		rows, err := lr.Query()
		if err != nil {
			lr.Close()
			return nil, last, 0, nil, err
		}
		defer lr.Close()
		if err := c.scan(rows); err != nil {
			return nil, last, 0, nil, err
		}
		if err := lr.Close(); err != nil {
			return nil, last, 0, nil, err
		}
	}
	if err := s.commitCancel(ctx, conn, ns, &c); err != nil {
		return nil, last, 0, nil, err
	}
	return c.out, last, n, c.unreadable, nil
}

// A cursor of CancelCampaignBatch (internal/batchcursor) holds the last
// row's due time: 't' and the time in microseconds since the Unix epoch,
// or '-' or '+' for an infinity (with 0), and its ID. The SQLite store's
// have the same shape, with the time in nanoseconds, and another store
// name in their checksum.
const batchCursorStore = "postgres"

func encodeBatchCursor(ns, campaignID string, k batchKey) string {
	c := batchcursor.Key{Kind: 't', ID: k.id}
	switch k.due.InfinityModifier {
	case pgtype.NegativeInfinity:
		c.Kind = '-'
	case pgtype.Infinity:
		c.Kind = '+'
	default:
		c.N = k.due.Time.UnixMicro()
	}
	return batchcursor.Encode(batchCursorStore, ns, campaignID, c)
}

func decodeBatchCursor(ns, campaignID, cursor string) (batchKey, error) {
	invalid := fmt.Errorf("%w: cancellation batch cursor %q: not one this store made for campaign %q", store.ErrInvalidQuery, cursor, campaignID)
	c, ok := batchcursor.Decode(batchCursorStore, ns, campaignID, cursor)
	if !ok || (c.Kind != 't' && c.N != 0) {
		return batchKey{}, invalid
	}
	k := batchKey{id: c.ID, due: pgtype.Timestamptz{Valid: true}}
	switch c.Kind {
	case '-':
		k.due.InfinityModifier = pgtype.NegativeInfinity
	case '+':
		k.due.InfinityModifier = pgtype.Infinity
	case 't':
		k.due.Time = time.UnixMicro(c.N).UTC()
	default:
		return batchKey{}, invalid
	}
	return k, nil
}
