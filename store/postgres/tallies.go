package postgres

import (
	"context"
	"maps"
	"slices"
	"time"

	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

var _ store.OnceTallier = (*Store)(nil)

const (
	// One statement, so one implicit transaction: every count is added or
	// none. The rows come in key order, so that engines adding the same
	// keys lock them in the same order (a deadlock is retried all the same).
	sqlAddTallies = `INSERT INTO {tallies} AS t (ns, hour, campaign_id, kind, reason, rule, n)
		SELECT $1, x.h, x.c, x.k, x.r, x.l, x.n
		FROM unnest($2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int8[]) WITH ORDINALITY AS x(h, c, k, r, l, n, o)
		ORDER BY x.o
		ON CONFLICT (ns, hour, campaign_id, kind, reason, rule) DO UPDATE SET n = t.n + EXCLUDED.n`
	// AddTallies' upsert, run only when the writer's row takes seq: a row
	// with seq or higher means the batch was added (its reply lost) or
	// overtaken. One statement, so the row and the counts commit together;
	// the CTE runs once whether or not the counts are added.
	sqlAddTalliesOnce = `WITH w AS (
			INSERT INTO {tally_writers} AS w (ns, writer, seq, hour)
			VALUES ($1, $8, $9, (SELECT max(h) FROM unnest($2::timestamptz[]) AS h))
			ON CONFLICT (ns, writer) DO UPDATE SET seq = EXCLUDED.seq, hour = GREATEST(w.hour, EXCLUDED.hour)
			WHERE w.seq < EXCLUDED.seq
			RETURNING 1)
		INSERT INTO {tallies} AS t (ns, hour, campaign_id, kind, reason, rule, n)
		SELECT $1, x.h, x.c, x.k, x.r, x.l, x.n
		FROM unnest($2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int8[]) WITH ORDINALITY AS x(h, c, k, r, l, n, o)
		WHERE EXISTS (SELECT FROM w)
		ORDER BY x.o
		ON CONFLICT (ns, hour, campaign_id, kind, reason, rule) DO UPDATE SET n = t.n + EXCLUDED.n`
	sqlTallies = `SELECT hour, campaign_id, kind, reason, rule, n FROM {tallies}
		WHERE ns = $1 AND hour >= $2 AND hour < $3
		ORDER BY hour, campaign_id COLLATE "C", kind COLLATE "C", reason COLLATE "C", rule COLLATE "C"`
	// The tallies of some campaigns: a range of the campaign index per
	// campaign (migration 7), then a sort of what they hold. The primary
	// key, hour first, would have every campaign's entries of the range
	// read, once per campaign listed.
	sqlTalliesOf = `SELECT hour, campaign_id, kind, reason, rule, n FROM {tallies}
		WHERE ns = $1 AND hour >= $2 AND hour < $3 AND campaign_id = ANY($4::text[])
		ORDER BY hour, campaign_id COLLATE "C", kind COLLATE "C", reason COLLATE "C", rule COLLATE "C"`
	// The same two, of some decision kinds: a filter of the entries read,
	// which the index holds (kind follows hour and campaign_id in both),
	// so that the rows of other kinds are neither fetched nor sent. An
	// index led by kind would read less of it, but the rows sent are what
	// costs (docs/postgres-plans.md).
	sqlTalliesKinds = `SELECT hour, campaign_id, kind, reason, rule, n FROM {tallies}
		WHERE ns = $1 AND hour >= $2 AND hour < $3 AND kind = ANY($4::text[])
		ORDER BY hour, campaign_id COLLATE "C", kind COLLATE "C", reason COLLATE "C", rule COLLATE "C"`
	sqlTalliesOfKinds = `SELECT hour, campaign_id, kind, reason, rule, n FROM {tallies}
		WHERE ns = $1 AND hour >= $2 AND hour < $3 AND campaign_id = ANY($4::text[]) AND kind = ANY($5::text[])
		ORDER BY hour, campaign_id COLLATE "C", kind COLLATE "C", reason COLLATE "C", rule COLLATE "C"`
	sqlPruneTallies = `DELETE FROM {tallies} WHERE ctid = ANY(ARRAY(
		SELECT ctid FROM {tallies} WHERE ns = $1 AND hour < $2 LIMIT $3))`
	sqlPruneTallyWriters = `DELETE FROM {tally_writers} WHERE ctid = ANY(ARRAY(
		SELECT ctid FROM {tally_writers} WHERE ns = $1 AND hour < $2 LIMIT $3))`
)

// AddTallies implements [store.Tallier.AddTallies] with one upsert of the
// tallies, summed by key first.
func (s *Store) AddTallies(ctx context.Context, ns string, tallies []store.Tally) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	if err := store.ValidateTallies(tallies); err != nil {
		return err
	}
	return s.addTallies(ctx, "add tallies", s.q.addTallies, ns, tallies)
}

// AddTalliesOnce implements [store.OnceTallier.AddTalliesOnce]: the
// writer's row in the tally_writers table and AddTallies' upsert in one
// statement, which adds the counts only when the row takes seq.
func (s *Store) AddTalliesOnce(ctx context.Context, ns, writer string, seq int64, tallies []store.Tally) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	if err := store.ValidateTallyBatch(writer, seq, tallies); err != nil {
		return err
	}
	return s.addTallies(ctx, "add tallies once", s.q.addTalliesOnce, ns, tallies, writer, seq)
}

// addTallies runs sql, AddTallies' upsert or AddTalliesOnce's, with
// tallies summed by key and sorted, then more as its parameters from $8
// on.
func (s *Store) addTallies(ctx context.Context, op, sql, ns string, tallies []store.Tally, more ...any) error {
	sums := make(map[store.TallyKey]int64, len(tallies))
	for i := range tallies {
		if t := &tallies[i]; t.Count > 0 {
			sums[t.Key()] += t.Count
		}
	}
	if len(sums) == 0 {
		return nil
	}
	keys := slices.SortedFunc(maps.Keys(sums), store.TallyKey.Compare)
	var (
		hours            = make([]time.Time, len(keys))
		campaigns, kinds = make([]string, len(keys)), make([]string, len(keys))
		reasons, rules   = make([]string, len(keys)), make([]string, len(keys))
		counts           = make([]int64, len(keys))
	)
	for i, k := range keys {
		hours[i], campaigns[i], kinds[i] = time.Unix(k.Hour, 0).UTC(), k.CampaignID, string(k.Kind)
		reasons[i], rules[i], counts[i] = string(k.Reason), k.Rule, sums[k]
	}
	args := append([]any{ns, hours, campaigns, kinds, reasons, rules, counts}, more...)
	for attempt := 1; ; attempt++ {
		_, err := s.execCommitted(ctx, sql, args...)
		if err == nil || !retryable(err) || attempt == maxAttempts || ctx.Err() != nil {
			return wrap(op, err)
		}
	}
}

// Tallies implements [store.Tallier.Tallies] with a range scan of the
// primary key, or of the campaign index when q selects campaigns; q's
// Kinds filter the entries of the range.
func (s *Store) Tallies(ctx context.Context, ns string, q store.TallyQuery) ([]store.Tally, error) {
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	if err := q.Validate(); err != nil {
		return nil, err
	}
	// Rounded up: hours start on whole seconds, so an hour starts at or
	// after a time exactly when it does at or after the time rounded up.
	until := queryTime(ceilTime(q.Until))
	if q.Until.IsZero() {
		until = pgtype.Timestamptz{InfinityModifier: pgtype.Infinity, Valid: true}
	}
	args := []any{ns, queryTime(ceilTime(q.Since)), until}
	campaigns := q.CampaignIDs
	if q.CampaignID != "" {
		campaigns = []string{q.CampaignID}
	}
	if len(campaigns) > 0 {
		args = append(args, campaigns)
	}
	if len(q.Kinds) > 0 {
		kinds := make([]string, len(q.Kinds))
		for i, k := range q.Kinds {
			kinds[i] = string(k)
		}
		args = append(args, kinds)
	}
	var sql string
	switch {
	case len(campaigns) > 0 && len(q.Kinds) > 0:
		sql = s.q.talliesOfKinds
	case len(campaigns) > 0:
		sql = s.q.talliesOf
	case len(q.Kinds) > 0:
		sql = s.q.talliesKinds
	default:
		sql = s.q.tallies
	}
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, wrap("tallies", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.Tally, error) {
		var (
			t            store.Tally
			kind, reason string
		)
		err := row.Scan(&t.Hour, &t.CampaignID, &kind, &reason, &t.Rule, &t.Count)
		t.Hour, t.Kind, t.Reason = t.Hour.UTC(), rule.DecisionKind(kind), rule.Reason(reason)
		return t, err
	})
	return out, wrap("tallies", err)
}

// PruneTallies implements [store.Tallier.PruneTallies] with batched
// DELETEs, as Prune does, of the tallies, then of the rows of the writers
// whose latest hour they were ([Store.AddTalliesOnce]).
func (s *Store) PruneTallies(ctx context.Context, ns string, before time.Time) (int, error) {
	if err := s.begin(ctx); err != nil {
		return 0, err
	}
	removed := 0
	for _, sql := range []string{s.q.pruneTallies, s.q.pruneTallyWriters} {
		for {
			tag, err := s.execCommitted(ctx, sql, ns, queryTime(ceilTime(before)), pruneBatch)
			if err != nil {
				return removed, wrap("prune tallies", err)
			}
			if sql == s.q.pruneTallies {
				removed += int(tag.RowsAffected())
			}
			if tag.RowsAffected() < pruneBatch {
				break
			}
		}
	}
	return removed, nil
}
