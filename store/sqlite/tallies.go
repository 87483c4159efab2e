package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"maps"
	"math"
	"slices"
	"time"

	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

var _ store.Tallier = (*Store)(nil)

const (
	colsTally = 6 // hour, campaign_id, kind, reason, rule, n
	// Each row adds its count to the stored one, or is stored as is. The
	// rows of a statement have distinct keys (summed first).
	sqlTallyHead = `INSERT INTO campaignconnector_tallies (ns, hour, campaign_id, kind, reason, rule, n) VALUES `
	sqlTallyTail = ` ON CONFLICT (ns, hour, campaign_id, kind, reason, rule) DO UPDATE SET n = n + excluded.n`
	// A range of the primary key, which is in the order Tallies returns.
	sqlTallies = `SELECT hour, campaign_id, kind, reason, rule, n FROM campaignconnector_tallies
		WHERE ns = ?1 AND hour >= ?2 AND hour < ?3
		ORDER BY hour, campaign_id, kind, reason, rule`
	// One campaign's: a range of the campaign index (migration 3), in the
	// same order once the campaign is fixed, rather than the primary key's
	// range, which holds every campaign's tallies of those hours.
	sqlTalliesOne = `SELECT hour, campaign_id, kind, reason, rule, n FROM campaignconnector_tallies
		WHERE ns = ?1 AND campaign_id = ?4 AND hour >= ?2 AND hour < ?3
		ORDER BY hour, campaign_id, kind, reason, rule`
	// The same range, of the campaigns of a JSON array: the primary key
	// holds each entry's campaign, checked before its row is read.
	sqlTalliesOf = `SELECT hour, campaign_id, kind, reason, rule, n FROM campaignconnector_tallies
		WHERE ns = ?1 AND hour >= ?2 AND hour < ?3 AND campaign_id IN (SELECT value FROM json_each(?4))
		ORDER BY hour, campaign_id, kind, reason, rule`
	// The same three, of the decision kinds of a JSON array: a filter of
	// the entries of the range, which hold their kind (the primary key
	// and the campaign index, whose entries hold the rest of the primary
	// key), so that the tallies of other kinds are neither decoded nor
	// returned.
	sqlTalliesKinds = `SELECT hour, campaign_id, kind, reason, rule, n FROM campaignconnector_tallies
		WHERE ns = ?1 AND hour >= ?2 AND hour < ?3 AND kind IN (SELECT value FROM json_each(?5))
		ORDER BY hour, campaign_id, kind, reason, rule`
	sqlTalliesOneKinds = `SELECT hour, campaign_id, kind, reason, rule, n FROM campaignconnector_tallies
		WHERE ns = ?1 AND campaign_id = ?4 AND hour >= ?2 AND hour < ?3 AND kind IN (SELECT value FROM json_each(?5))
		ORDER BY hour, campaign_id, kind, reason, rule`
	sqlTalliesOfKinds = `SELECT hour, campaign_id, kind, reason, rule, n FROM campaignconnector_tallies
		WHERE ns = ?1 AND hour >= ?2 AND hour < ?3 AND campaign_id IN (SELECT value FROM json_each(?4))
			AND kind IN (SELECT value FROM json_each(?5))
		ORDER BY hour, campaign_id, kind, reason, rule`
	// Batched, as Prune's deletes: at most ?3 rows per transaction.
	sqlPruneTallies = `DELETE FROM campaignconnector_tallies WHERE (ns, hour, campaign_id, kind, reason, rule) IN (
		SELECT ns, hour, campaign_id, kind, reason, rule FROM campaignconnector_tallies WHERE ns = ?1 AND hour < ?2 LIMIT ?3)`
)

// AddTallies implements [store.Tallier.AddTallies] in one write
// transaction: the tallies are summed by key, then upserted with
// multi-row statements. Writes take turns, so engines adding the same
// keys, in any process, lose nothing; a file locked by another process
// past the busy timeout makes it try again, as every write does.
func (s *Store) AddTallies(ctx context.Context, ns string, tallies []store.Tally) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	if err := store.ValidateTallies(tallies); err != nil {
		return err
	}
	sums := make(map[store.TallyKey]int64, len(tallies))
	for i := range tallies {
		if t := &tallies[i]; t.Count > 0 {
			sums[t.Key()] += t.Count
		}
	}
	if len(sums) == 0 {
		return nil
	}
	vals := make([]any, 0, len(sums)*colsTally)
	for _, k := range slices.SortedFunc(maps.Keys(sums), store.TallyKey.Compare) {
		vals = append(vals, k.Hour, k.CampaignID, string(k.Kind), string(k.Reason), k.Rule, sums[k])
	}
	err := s.write(ctx, func(t *tx) error {
		return writeRows(t, sqlTallyHead, sqlTallyTail, []any{ns}, true, colsTally, vals, nil)
	})
	return wrap("add tallies", err)
}

// withKinds maps each query of Tallies to the same of some kinds.
var withKinds = map[string]string{
	sqlTallies:    sqlTalliesKinds,
	sqlTalliesOne: sqlTalliesOneKinds,
	sqlTalliesOf:  sqlTalliesOfKinds,
}

// Tallies implements [store.Tallier.Tallies] with a range scan of the
// primary key, on a reading connection; q's CampaignIDs go as one JSON
// array, whatever their number, and its Kinds as another.
func (s *Store) Tallies(ctx context.Context, ns string, q store.TallyQuery) ([]store.Tally, error) {
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	if err := q.Validate(); err != nil {
		return nil, err
	}
	until := int64(math.MaxInt64)
	if !q.Until.IsZero() {
		until = ceilUnix(q.Until)
	}
	query, campaigns, kinds := sqlTallies, any(nil), any(nil)
	if q.CampaignID != "" {
		query, campaigns = sqlTalliesOne, q.CampaignID
	}
	if len(q.CampaignIDs) > 0 {
		ids, err := json.Marshal(q.CampaignIDs)
		if err != nil {
			return nil, wrap("tallies", err)
		}
		query, campaigns = sqlTalliesOf, string(ids)
	}
	if len(q.Kinds) > 0 {
		list, err := json.Marshal(q.Kinds)
		if err != nil {
			return nil, wrap("tallies", err)
		}
		query, kinds = withKinds[query], string(list)
	}
	var out []store.Tally
	err := s.query(ctx, query, func(rows *sql.Rows) error {
		out = out[:0]
		for rows.Next() {
			var (
				t                store.Tally
				hour             int64
				kind, reason, rl string
				campaignID       string
			)
			if err := rows.Scan(&hour, &campaignID, &kind, &reason, &rl, &t.Count); err != nil {
				return err
			}
			t.Hour, t.CampaignID, t.Kind, t.Reason, t.Rule = time.Unix(hour, 0).UTC(), campaignID, rule.DecisionKind(kind), rule.Reason(reason), rl
			out = append(out, t)
		}
		return nil
	}, ns, ceilUnix(q.Since), until, campaigns, kinds)
	if err != nil {
		return nil, wrap("tallies", err)
	}
	return out, nil
}

// PruneTallies implements [store.Tallier.PruneTallies] with batched
// DELETEs, a write transaction each, as Prune does.
func (s *Store) PruneTallies(ctx context.Context, ns string, before time.Time) (int, error) {
	if err := s.begin(ctx); err != nil {
		return 0, err
	}
	removed := 0
	for {
		var n int64
		err := s.write(ctx, func(t *tx) error {
			res, err := t.exec(sqlPruneTallies, ns, ceilUnix(before), pruneBatch)
			if err == nil {
				n, err = res.RowsAffected()
			}
			return err
		})
		if err != nil {
			return removed, wrap("prune tallies", err)
		}
		removed += int(n)
		if n < pruneBatch {
			return removed, nil
		}
	}
}

// ceilUnix is t in Unix seconds, rounded up: an hour starting at Unix
// second h starts at or after t exactly when h >= ceilUnix(t).
func ceilUnix(t time.Time) int64 {
	s := t.Unix()
	if t.Nanosecond() > 0 {
		s++
	}
	return s
}
