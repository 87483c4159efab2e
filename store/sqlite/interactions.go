package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/store"
)

const (
	sqlAppendInteraction = `INSERT INTO campaignconnector_interactions (ns, at, kind, campaign_id, event, keep_until)
		VALUES (?, ?, ?, ?, ?, ?)`
	// Pages in (at, seq) order from the key (?2, ?3).
	sqlInteractions = `SELECT seq, at, event FROM campaignconnector_interactions
		WHERE ns = ?1 AND (at, seq) > (?2, ?3) AND at < ?4`
)

// interactionsPage is how many logged events Interactions reads per
// query; fn is called between queries, never while a connection is held.
const interactionsPage = 1000

// AppendInteractions implements [store.Store.AppendInteractions] with one
// write transaction.
func (s *Store) AppendInteractions(ctx context.Context, ns string, events []event.Event, keepUntil time.Time) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	if len(events) == 0 {
		return nil
	}
	docs := make([]string, len(events))
	for i := range events {
		doc, err := json.Marshal(&events[i])
		if err != nil {
			return wrap("append interactions", fmt.Errorf("encoding event %q: %w", events[i].ID, err))
		}
		docs[i] = string(doc)
	}
	keep := nanos(keepUntil)
	err := s.write(ctx, func(t *tx) error {
		for i := range events {
			ev := &events[i]
			if _, err := t.exec(sqlAppendInteraction, ns, nanos(ev.Time), string(ev.Kind), ev.CampaignID, docs[i], keep); err != nil {
				return err
			}
		}
		return nil
	})
	return wrap("append interactions", err)
}

// Interactions implements [store.Store.Interactions], reading the log in
// pages of 1000 by index order.
func (s *Store) Interactions(ctx context.Context, ns string, q store.InteractionQuery, fn func(event.Event) bool) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	until := int64(math.MaxInt64)
	if !q.Until.IsZero() {
		until = nanos(q.Until)
	}
	sqlText, keyArgs := interactionsQuery(q.Keys)
	var (
		keyAt  = nanos(q.Since) - 1 // (at, seq) > (since-1, max): at >= since
		keySeq = int64(math.MaxInt64)
	)
	if q.Since.IsZero() {
		keyAt, keySeq = math.MinInt64, math.MinInt64
	}
	type row struct {
		seq, at int64
		ev      event.Event
	}
	page := make([]row, 0, interactionsPage)
	for {
		page = page[:0]
		args := append([]any{ns, keyAt, keySeq, until}, keyArgs...)
		err := s.query(ctx, sqlText, func(rows *sql.Rows) error {
			page = page[:0]
			for rows.Next() {
				var x row
				var doc []byte
				if err := rows.Scan(&x.seq, &x.at, &doc); err != nil {
					return err
				}
				if err := json.Unmarshal(doc, &x.ev); err != nil {
					return err
				}
				page = append(page, x)
			}
			return nil
		}, args...)
		if err != nil {
			return wrap("interactions", err)
		}
		for i := range page {
			// The query selects by the stored times; Matches decides on
			// the event's own (they differ only outside the span of
			// nanosecond times).
			if q.Matches(&page[i].ev) && !fn(page[i].ev) {
				return nil
			}
		}
		if len(page) < interactionsPage {
			return nil
		}
		last := page[len(page)-1]
		keyAt, keySeq = last.at, last.seq
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

// interactionsQuery returns the page query for keys, with their
// arguments: (kind, campaign) pairs compared in SQL.
func interactionsQuery(keys []store.InteractionKey) (string, []any) {
	q := sqlInteractions
	var args []any
	if len(keys) > 0 {
		var b strings.Builder
		b.WriteString(" AND (")
		for i, k := range keys {
			if i > 0 {
				b.WriteString(" OR ")
			}
			b.WriteString("(kind = ? AND campaign_id = ?)")
			args = append(args, string(k.Kind), k.CampaignID)
		}
		b.WriteString(")")
		q += b.String()
	}
	return q + fmt.Sprintf(" ORDER BY at, seq LIMIT %d", interactionsPage), args
}
