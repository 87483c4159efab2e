package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"sync/atomic"

	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

const (
	sqlRevision = `SELECT revision FROM campaignconnector_namespaces WHERE ns = ?`
	// The revision and the records in one statement, so in one snapshot.
	sqlCampaigns = `SELECT n.revision, c.definition, c.state, c.activated_at, c.activation, c.created_at, c.updated_at, c.revision
		FROM (SELECT coalesce((SELECT revision FROM campaignconnector_namespaces WHERE ns = ?1), 0) AS revision) n
		LEFT JOIN campaignconnector_campaigns c ON c.ns = ?1`
	sqlCampaignSelect = `SELECT definition, state, activated_at, activation, created_at, updated_at, revision
		FROM campaignconnector_campaigns WHERE ns = ? AND id = ?`
	sqlCampaignUpsert = `INSERT INTO campaignconnector_campaigns (ns, id, definition, state, activated_at, activation, created_at, updated_at, revision)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (ns, id) DO UPDATE SET definition = excluded.definition, state = excluded.state,
			activated_at = excluded.activated_at, activation = excluded.activation, created_at = excluded.created_at,
			updated_at = excluded.updated_at, revision = excluded.revision`
	sqlRevisionBump = `INSERT INTO campaignconnector_namespaces (ns, revision) VALUES (?, 1)
		ON CONFLICT (ns) DO UPDATE SET revision = revision + 1 RETURNING revision`
)

// Campaigns implements [store.Store.Campaigns]. Definitions decode with
// [rule.DecodeStoredCampaign]: fields a newer version stored are ignored.
func (s *Store) Campaigns(ctx context.Context, ns string) (int64, []store.CampaignRecord, error) {
	if err := s.begin(ctx); err != nil {
		return 0, nil, err
	}
	var (
		rev  int64
		recs []store.CampaignRecord
	)
	err := s.query(ctx, sqlCampaigns, func(rows *sql.Rows) error {
		recs = recs[:0]
		for rows.Next() {
			var r campaignRow
			if err := rows.Scan(&rev, &r.definition, &r.state, &r.activatedAt, &r.activation, &r.createdAt, &r.updatedAt, &r.revision); err != nil {
				return err
			}
			if r.definition == nil {
				continue // the namespace has no campaign
			}
			rec, err := r.record()
			if err != nil {
				return err
			}
			recs = append(recs, rec)
		}
		return nil
	}, ns)
	if err != nil {
		return 0, nil, wrap("campaigns", err)
	}
	s.revEntry(ns).raise(rev)
	return rev, recs, nil
}

type campaignRow struct {
	definition                        []byte
	state                             sql.NullString
	activatedAt, createdAt, updatedAt sql.NullInt64
	activation, revision              sql.NullInt64
}

func (r *campaignRow) record() (store.CampaignRecord, error) {
	rec := store.CampaignRecord{
		State:       rule.State(r.state.String),
		ActivatedAt: nullTime(r.activatedAt),
		Activation:  r.activation.Int64,
		CreatedAt:   nullTime(r.createdAt),
		UpdatedAt:   nullTime(r.updatedAt),
		Revision:    r.revision.Int64,
	}
	c, err := rule.DecodeStoredCampaign(r.definition)
	if err != nil {
		return rec, fmt.Errorf("decoding a campaign definition: %w", err)
	}
	rec.Campaign = c
	return rec, nil
}

// UpdateCampaign implements [store.Store.UpdateCampaign] with one write
// transaction: the change and the new revision commit together. A change
// that leaves the definition as this version reads it (a change of state)
// keeps the stored definition as it is, with the fields of a newer
// version this one ignores.
func (s *Store) UpdateCampaign(ctx context.Context, ns, id string, fn func(rec *store.CampaignRecord, exists bool) error) (store.CampaignRecord, error) {
	if err := s.begin(ctx); err != nil {
		return store.CampaignRecord{}, err
	}
	var (
		out   store.CampaignRecord
		fnErr error
	)
	err := s.write(ctx, func(t *tx) error {
		var row campaignRow
		exists, err := t.queryRow(sqlCampaignSelect, []any{ns, id},
			&row.definition, &row.state, &row.activatedAt, &row.activation, &row.createdAt, &row.updatedAt, &row.revision)
		if err != nil {
			return err
		}
		var (
			rec  store.CampaignRecord
			read []byte // the definition as this version reads it
		)
		if exists {
			if rec, err = row.record(); err != nil {
				return err
			}
			read, _ = json.Marshal(rec.Campaign) // nil if it fails: then no definition equals it
		}
		if fnErr = fn(&rec, exists); fnErr != nil {
			return fnErr
		}
		def, err := json.Marshal(rec.Campaign)
		if err != nil {
			return fmt.Errorf("encoding campaign %q: %w", id, err)
		}
		if exists && bytes.Equal(def, read) {
			// A change of state alone keeps the definition as stored,
			// with the fields of a newer version this one ignored.
			def = row.definition
		}
		if _, err := t.queryRow(sqlRevisionBump, []any{ns}, &rec.Revision); err != nil {
			return err
		}
		if _, err := t.exec(sqlCampaignUpsert, ns, id, string(def), string(rec.State), nullNanos(rec.ActivatedAt), rec.Activation,
			nullNanos(rec.CreatedAt), nullNanos(rec.UpdatedAt), rec.Revision); err != nil {
			return err
		}
		// What is returned reads as what Campaigns will: decoded from the
		// stored JSON (no alias into fn's values).
		out = rec
		if out.Campaign, err = rule.DecodeStoredCampaign(def); err != nil {
			return fmt.Errorf("decoding campaign %q: %w", id, err)
		}
		out.ActivatedAt, out.CreatedAt, out.UpdatedAt = stored(rec.ActivatedAt), stored(rec.CreatedAt), stored(rec.UpdatedAt)
		return nil
	})
	if fnErr != nil {
		return store.CampaignRecord{}, fnErr
	}
	if err != nil {
		return store.CampaignRecord{}, wrap("update campaign", err)
	}
	s.revEntry(ns).raise(out.Revision)
	return out, nil
}

// Revision implements [store.Store.Revision] from a per-namespace cache:
// campaign changes made through this store raise it at once, and it is
// read from the file at most once per revision max age (default 1s) per
// namespace, so the value it serves is at most that old.
func (s *Store) Revision(ctx context.Context, ns string) (int64, error) {
	if err := s.begin(ctx); err != nil {
		return 0, err
	}
	e := s.revEntry(ns)
	now := s.mono()
	if now-e.fetched.Load() < int64(s.cfg.revisionAge) {
		return e.rev.Load(), nil
	}
	var rev int64
	if _, err := s.queryRow(ctx, sqlRevision, []any{ns}, &rev); err != nil {
		return 0, wrap("revision", err)
	}
	e.raise(rev)
	e.fetched.Store(now)
	return e.rev.Load(), nil
}

// revEntry caches one namespace's revision: the highest seen (reads and
// this store's own changes raise it) and when it was last read from the
// file.
type revEntry struct {
	rev     atomic.Int64
	fetched atomic.Int64 // Store.mono time
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
