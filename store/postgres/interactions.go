package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

const (
	sqlAppendInteractions = `INSERT INTO {interactions} (ns, at, kind, campaign_id, event, keep_until)
		SELECT $1, e.at, e.kind, e.campaign_id, e.event, $6
		FROM unnest($2::timestamptz[], $3::text[], $4::text[], $5::json[]) WITH ORDINALITY AS e(at, kind, campaign_id, event, ord)
		ORDER BY e.ord`
	// Pages in (at, seq) order from the key ($2, $3); at is the event time
	// rounded down to the microsecond, which Go refines.
	sqlInteractions = `SELECT seq, at, event FROM {interactions}
		WHERE ns = $1 AND (at, seq) > ($2, $3) AND at <= $4
		ORDER BY at, seq LIMIT $5`
	sqlInteractionsByKey = `SELECT seq, at, event FROM {interactions}
		WHERE ns = $1 AND (at, seq) > ($2, $3) AND at <= $4
			AND (kind, campaign_id) IN (SELECT * FROM unnest($6::text[], $7::text[]))
		ORDER BY at, seq LIMIT $5`
)

// interactionsPage is how many logged events Interactions reads per
// query; fn is called between queries, never while a connection is held.
const interactionsPage = 1000

// AppendInteractions implements [store.Store.AppendInteractions] with one
// INSERT; keepUntil is rounded up to the microsecond.
func (s *Store) AppendInteractions(ctx context.Context, ns string, events []event.Event, keepUntil time.Time) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	if len(events) == 0 {
		return nil
	}
	ats := make([]time.Time, len(events))
	kinds := make([]string, len(events))
	campaigns := make([]string, len(events))
	docs := make([]json.RawMessage, len(events))
	for i := range events {
		ev := &events[i]
		doc, err := json.Marshal(ev)
		if err != nil {
			return wrap("append interactions", fmt.Errorf("encoding event %q: %w", ev.ID, err))
		}
		ats[i], kinds[i], campaigns[i], docs[i] = floorTime(ev.Time), string(ev.Kind), ev.CampaignID, doc
	}
	_, err := s.pool.Exec(ctx, s.q.appendInteractions, ns, ats, kinds, campaigns, docs, ceilTime(keepUntil))
	return wrap("append interactions", err)
}

// Interactions implements [store.Store.Interactions], reading the log in
// pages of 1000 by index order. Events whose times fall in the same
// microsecond are put in exact time order (stable, so ties keep their
// append order) before fn sees them.
func (s *Store) Interactions(ctx context.Context, ns string, q store.InteractionQuery, fn func(event.Event) bool) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	until := pgtype.Timestamptz{InfinityModifier: pgtype.Infinity, Valid: true}
	if !q.Until.IsZero() {
		until = queryTime(floorTime(q.Until))
	}
	var kinds, campaigns []string
	for _, k := range q.Keys {
		kinds, campaigns = append(kinds, string(k.Kind)), append(campaigns, k.CampaignID)
	}
	var (
		keyAt   = queryTime(floorTime(q.Since))
		keySeq  int64
		group   []event.Event // same microsecond, not yet handed to fn
		groupAt time.Time
	)
	flush := func() bool {
		slices.SortStableFunc(group, func(a, b event.Event) int { return a.Time.Compare(b.Time) })
		for _, ev := range group {
			if q.Matches(&ev) && !fn(ev) {
				return false
			}
		}
		group = group[:0]
		return true
	}
	for {
		args := []any{ns, keyAt, keySeq, until, interactionsPage}
		sql := s.q.interactions
		if len(q.Keys) > 0 {
			sql = s.q.interactionsByKey
			args = append(args, kinds, campaigns)
		}
		type row struct {
			seq int64
			at  time.Time
			ev  event.Event
		}
		rows, err := s.pool.Query(ctx, sql, args...)
		if err != nil {
			return wrap("interactions", err)
		}
		page, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
			var x row
			var doc []byte
			if err := r.Scan(&x.seq, &x.at, &doc); err != nil {
				return x, err
			}
			return x, json.Unmarshal(doc, &x.ev)
		})
		if err != nil {
			return wrap("interactions", err)
		}
		for _, x := range page {
			if !x.at.Equal(groupAt) {
				if !flush() {
					return nil
				}
				groupAt = x.at
			}
			group = append(group, x.ev)
		}
		if len(page) < interactionsPage {
			flush()
			return nil
		}
		last := page[len(page)-1]
		keyAt, keySeq = pgtype.Timestamptz{Time: last.at, Valid: true}, last.seq
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}
