package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// Schemas before version 3 kept a pending delivery's body and a user's
// state as JSON (pending.data, users.state). The migration to version 3
// adds the bytea columns (pending.body, users.body); convertDocuments,
// run in the same transaction, fills them from the JSON; version 4 drops
// the JSON columns.

// legacyPending is the JSON document of a pending delivery's body.
type legacyPending struct {
	Activation      int64       `json:"activation"`
	Trigger         event.Event `json:"trigger"`
	DueAt           time.Time   `json:"due_at"`
	Attempt         int         `json:"attempt,omitempty"`
	Sending         bool        `json:"sending,omitempty"`
	CancelOnFailure bool        `json:"cancel_on_failure,omitempty"`
	Backfilled      bool        `json:"backfilled,omitempty"`
	Control         bool        `json:"control,omitempty"`
}

// decodeLegacyPending fills p from the JSON document of a delivery's body.
func decodeLegacyPending(p *store.Pending, data []byte) error {
	var d legacyPending
	if err := json.Unmarshal(data, &d); err != nil {
		return fmt.Errorf("decoding pending delivery %q: %w", p.ID, err)
	}
	p.Activation, p.Trigger, p.DueAt, p.Attempt = d.Activation, d.Trigger, d.DueAt, d.Attempt
	p.Sending, p.CancelOnFailure, p.Backfilled, p.Control = d.Sending, d.CancelOnFailure, d.Backfilled, d.Control
	return nil
}

// convertPage is how many rows convertDocuments reads and writes at a
// time.
const convertPage = 1000

// convertDocuments fills the bytea documents of every row from its JSON
// one, in pages, with a cursor over each table.
func convertDocuments(ctx context.Context, tx pgx.Tx, q *queries) error {
	tables := []struct {
		name, query, update string
		convert             func(user, id string, doc []byte) ([]byte, pgtype.Timestamptz, error)
	}{
		// A row without due_at (written during a rolling upgrade by a
		// replica that did not write it) takes it from its document.
		{"pending", `SELECT ctid, user_id, id, data FROM {pending}`,
			`UPDATE {pending} p SET body = x.b, due_at = coalesce(p.due_at, x.d)
				FROM unnest($1::tid[], $2::bytea[], $3::timestamptz[]) AS x(t, b, d) WHERE p.ctid = x.t`,
			func(user, id string, doc []byte) ([]byte, pgtype.Timestamptz, error) {
				p := store.Pending{ID: id}
				if err := decodeLegacyPending(&p, doc); err != nil {
					return nil, pgtype.Timestamptz{}, err
				}
				body, err := appendPending(nil, user, &p)
				return body, pgtype.Timestamptz{Time: floorTime(p.DueAt), Valid: true}, err
			}},
		{"users", `SELECT ctid, user_id, '', state FROM {users}`,
			`UPDATE {users} p SET body = x.b FROM unnest($1::tid[], $2::bytea[], $3::timestamptz[]) AS x(t, b, d) WHERE p.ctid = x.t`,
			func(user, _ string, doc []byte) ([]byte, pgtype.Timestamptz, error) {
				var u store.UserState
				if err := json.Unmarshal(doc, &u); err != nil {
					return nil, pgtype.Timestamptz{}, fmt.Errorf("decoding the state of user %q: %w", user, err)
				}
				return appendState(nil, &u), pgtype.Timestamptz{}, nil
			}},
	}
	for _, t := range tables {
		if _, err := tx.Exec(ctx, "DECLARE convert_documents NO SCROLL CURSOR FOR "+q.r.Replace(t.query)); err != nil {
			return err
		}
		for {
			rows, err := tx.Query(ctx, fmt.Sprintf("FETCH %d FROM convert_documents", convertPage))
			if err != nil {
				return err
			}
			var (
				tids   []pgtype.TID
				bodies [][]byte
				dues   []pgtype.Timestamptz
			)
			for rows.Next() {
				var (
					tid      pgtype.TID
					user, id string
					doc      []byte
				)
				if err := rows.Scan(&tid, &user, &id, &doc); err != nil {
					rows.Close()
					return err
				}
				body, due, err := t.convert(user, id, doc)
				if err != nil {
					rows.Close()
					return fmt.Errorf("converting a row of %s: %w", t.name, err)
				}
				tids, bodies, dues = append(tids, tid), append(bodies, body), append(dues, due)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			if len(tids) == 0 {
				break
			}
			if _, err := tx.Exec(ctx, q.r.Replace(t.update), tids, bodies, dues); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, "CLOSE convert_documents"); err != nil {
			return err
		}
	}
	return nil
}
