package postgres

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
)

const (
	// The namespace row carries the revision and serializes the campaign
	// changes of its namespace (a new campaign has no row to lock).
	sqlNSLock   = `INSERT INTO {namespaces} (ns, revision) VALUES ($1, 0) ON CONFLICT (ns) DO NOTHING`
	sqlNSSelect = `SELECT revision FROM {namespaces} WHERE ns = $1 FOR UPDATE`
	sqlNSBump   = `UPDATE {namespaces} SET revision = $2 WHERE ns = $1`
	sqlRevision = `SELECT revision FROM {namespaces} WHERE ns = $1`
	// The revision and the records in one statement, so in one snapshot.
	sqlCampaigns = `SELECT n.revision, c.definition, c.state, c.activated_at, c.activation, c.created_at, c.updated_at, c.revision
		FROM (SELECT coalesce((SELECT revision FROM {namespaces} WHERE ns = $1), 0) AS revision) n
		LEFT JOIN {campaigns} c ON c.ns = $1`
	sqlCampaignSelect = `SELECT definition, state, activated_at, activation, created_at, updated_at, revision
		FROM {campaigns} WHERE ns = $1 AND id = $2`
	sqlCampaignUpsert = `INSERT INTO {campaigns} (ns, id, definition, state, activated_at, activation, created_at, updated_at, revision)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (ns, id) DO UPDATE SET definition = EXCLUDED.definition, state = EXCLUDED.state,
			activated_at = EXCLUDED.activated_at, activation = EXCLUDED.activation, created_at = EXCLUDED.created_at,
			updated_at = EXCLUDED.updated_at, revision = EXCLUDED.revision`
	sqlNotify = `SELECT pg_notify($1, $2)`
)

// Campaigns implements [store.Store.Campaigns]. Definitions decode with
// [rule.DecodeStoredCampaign]: fields a newer version stored are ignored.
func (s *Store) Campaigns(ctx context.Context, ns string) (int64, []store.CampaignRecord, error) {
	if err := s.begin(ctx); err != nil {
		return 0, nil, err
	}
	rows, err := s.pool.Query(ctx, s.q.campaignsSelect, ns)
	if err != nil {
		return 0, nil, wrap("campaigns", err)
	}
	defer rows.Close()
	var (
		rev  int64
		recs []store.CampaignRecord
	)
	for rows.Next() {
		var r campaignRow
		if err := rows.Scan(&rev, &r.definition, &r.state, &r.activatedAt, &r.activation, &r.createdAt, &r.updatedAt, &r.revision); err != nil {
			return 0, nil, wrap("campaigns", err)
		}
		if r.definition == nil {
			continue // the namespace has no campaign
		}
		rec, err := r.record()
		if err != nil {
			return 0, nil, wrap("campaigns", err)
		}
		recs = append(recs, rec)
	}
	if err := rows.Err(); err != nil {
		return 0, nil, wrap("campaigns", err)
	}
	s.raiseRevision(ns, rev)
	return rev, recs, nil
}

type campaignRow struct {
	definition                        []byte
	state                             pgtype.Text
	activatedAt, createdAt, updatedAt pgtype.Timestamptz
	activation, revision              pgtype.Int8
}

func (r *campaignRow) record() (store.CampaignRecord, error) {
	rec := store.CampaignRecord{
		State:       rule.State(r.state.String),
		ActivatedAt: timeOf(r.activatedAt),
		Activation:  r.activation.Int64,
		CreatedAt:   timeOf(r.createdAt),
		UpdatedAt:   timeOf(r.updatedAt),
		Revision:    r.revision.Int64,
	}
	c, err := rule.DecodeStoredCampaign(r.definition)
	if err != nil {
		return rec, fmt.Errorf("decoding a campaign definition: %w", err)
	}
	rec.Campaign = c
	return rec, nil
}

// timeOf reads a nullable timestamp: NULL is the zero time.
func timeOf(t pgtype.Timestamptz) time.Time {
	if !t.Valid {
		return time.Time{}
	}
	return t.Time.UTC()
}

// nullTime writes the zero time as NULL.
func nullTime(t time.Time) pgtype.Timestamptz {
	if t.IsZero() {
		return pgtype.Timestamptz{}
	}
	return pgtype.Timestamptz{Time: floorTime(t), Valid: true}
}

// UpdateCampaign implements [store.Store.UpdateCampaign] with one
// transaction of two round trips, holding the namespace row's lock: the
// change, the new revision and its notification commit together. The
// record's times are stored to the microsecond (rounded down). Like
// Update, it runs fn again after a deadlock (which the namespace lock,
// taken first, all but rules out). A change that leaves the definition as
// this version reads it (a change of state) keeps the stored definition as
// it is, with the fields of a newer version this one ignores. As in
// UpdateBatch, ctx ending during the second round trip does not stop it:
// it is waited for, up to 30 s after ctx ends.
func (s *Store) UpdateCampaign(ctx context.Context, ns, id string, fn func(rec *store.CampaignRecord, exists bool) error) (store.CampaignRecord, error) {
	if err := s.begin(ctx); err != nil {
		return store.CampaignRecord{}, err
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return store.CampaignRecord{}, wrap("update campaign", err)
	}
	defer conn.Release()
	var fnErr error
	for attempt := 1; ; attempt++ {
		var rec store.CampaignRecord
		rec, fnErr, err = s.updateCampaignOnce(ctx, conn, ns, id, fn)
		if err == nil && fnErr == nil {
			s.raiseRevision(ns, rec.Revision)
			return rec, nil
		}
		rollback(conn)
		if fnErr != nil {
			return store.CampaignRecord{}, fnErr
		}
		if !retryable(err) || attempt == maxAttempts || ctx.Err() != nil {
			return store.CampaignRecord{}, wrap("update campaign", err)
		}
	}
}

func (s *Store) updateCampaignOnce(ctx context.Context, conn *pgxpool.Conn, ns, id string, fn func(rec *store.CampaignRecord, exists bool) error) (rec store.CampaignRecord, fnErr, err error) {
	b := &pgx.Batch{}
	b.Queue(sqlBegin)
	b.Queue(s.q.nsLock, ns)
	b.Queue(s.q.nsSelect, ns)
	b.Queue(s.q.campaignSelect, ns, id)
	br := conn.SendBatch(ctx, b)
	var (
		rev    int64
		row    campaignRow
		exists = true
	)
	if _, err = br.Exec(); err == nil {
		_, err = br.Exec()
	}
	if err == nil {
		err = br.QueryRow().Scan(&rev)
	}
	if err == nil {
		err = br.QueryRow().Scan(&row.definition, &row.state, &row.activatedAt, &row.activation, &row.createdAt, &row.updatedAt, &row.revision)
		if errors.Is(err, pgx.ErrNoRows) {
			exists, err = false, nil
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return rec, nil, err
	}
	var read []byte // the definition as this version reads it
	if exists {
		if rec, err = row.record(); err != nil {
			return rec, nil, err
		}
		read, _ = json.Marshal(rec.Campaign) // nil if it fails: then no definition equals it
	}
	if fnErr = fn(&rec, exists); fnErr != nil {
		return rec, fnErr, nil
	}
	def, err := json.Marshal(rec.Campaign)
	if err != nil {
		return rec, nil, fmt.Errorf("encoding campaign %q: %w", id, err)
	}
	if exists && bytes.Equal(def, read) {
		// A change of state alone keeps the definition as stored, with
		// the fields of a newer version this one ignored.
		def = row.definition
	}
	rec.Revision = rev + 1
	w := &pgx.Batch{}
	w.Queue(s.q.campaignUpsert, ns, id, def, string(rec.State), nullTime(rec.ActivatedAt), rec.Activation,
		nullTime(rec.CreatedAt), nullTime(rec.UpdatedAt), rec.Revision)
	w.Queue(s.q.nsBump, ns, rec.Revision)
	w.Queue(s.q.notify, s.listener.revChannel, strconv.FormatInt(rec.Revision, 10)+" "+ns)
	w.Queue("COMMIT")
	if err := sendCommit(ctx, conn, w, nil); err != nil {
		return rec, nil, err
	}
	// What is returned reads as what Campaigns will: decoded from the
	// stored JSON (no alias into fn's values), times to the microsecond.
	out := rec
	if out.Campaign, err = rule.DecodeStoredCampaign(def); err != nil {
		return rec, nil, fmt.Errorf("decoding campaign %q: %w", id, err)
	}
	out.ActivatedAt = timeOf(nullTime(rec.ActivatedAt))
	out.CreatedAt = timeOf(nullTime(rec.CreatedAt))
	out.UpdatedAt = timeOf(nullTime(rec.UpdatedAt))
	return out, nil, nil
}

// Revision implements [store.Store.Revision] from a per-namespace cache,
// without a query while the store's notification connection is up (every
// UpdateCampaign notifies the new revision in its transaction) and at most
// once per revision max age (default 1s) per namespace while it is not.
// The value served is at most the revision max age old, plus the time a
// notification takes to arrive.
func (s *Store) Revision(ctx context.Context, ns string) (int64, error) {
	if err := s.begin(ctx); err != nil {
		return 0, err
	}
	e := s.revEntry(ns)
	now := s.mono()
	if s.listener.fresh(e.gen.Load(), now) || now-e.fetched.Load() < int64(s.cfg.revisionAge) {
		return e.rev.Load(), nil
	}
	gen := s.listener.generation() // before the query: notifications after it are seen
	var rev int64
	if err := s.pool.QueryRow(ctx, s.q.revision, ns).Scan(&rev); err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return 0, wrap("revision", err)
	}
	e.raise(rev)
	e.gen.Store(gen)
	e.fetched.Store(now)
	return e.rev.Load(), nil
}

// revEntry caches one namespace's revision: the highest seen (queries,
// notifications and this store's own updates all raise it), when it was
// last read from the database, and under which generation of the
// notification connection (0: none).
type revEntry struct {
	rev     atomic.Int64
	fetched atomic.Int64 // Store.mono time
	gen     atomic.Uint64
}

func (e *revEntry) raise(rev int64) {
	for {
		cur := e.rev.Load()
		if rev <= cur || e.rev.CompareAndSwap(cur, rev) {
			return
		}
	}
}

func (s *Store) revEntry(ns string) *revEntry {
	if v, ok := s.revs.Load(ns); ok {
		return v.(*revEntry)
	}
	e := &revEntry{}
	e.fetched.Store(math.MinInt64 / 2) // never read
	v, _ := s.revs.LoadOrStore(ns, e)
	return v.(*revEntry)
}

func (s *Store) raiseRevision(ns string, rev int64) { s.revEntry(ns).raise(rev) }
