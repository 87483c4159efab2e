package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"time"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

type migration struct {
	version int
	name    string
	sql     string
	// fill, if set, runs after sql in the same transaction: the part of
	// the migration that needs Go (decoding documents).
	fill func(ctx context.Context, conn *sql.Conn) error
}

// fills are the Go parts of migrations, by version.
var fills = map[int]func(ctx context.Context, conn *sql.Conn) error{
	2: datePending,
}

// migrations returns the embedded migrations in version order. Their
// names are NNNN_description.sql.
func migrations() []migration {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		panic(err) // embedded: cannot fail
	}
	var out []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			panic("sqlite: migration file without a version: " + e.Name())
		}
		b, err := migrationFiles.ReadFile("migrations/" + e.Name())
		if err != nil {
			panic(err)
		}
		out = append(out, migration{version: v, name: e.Name(), sql: string(b), fill: fills[v]})
	}
	slices.SortFunc(out, func(a, b migration) int { return a.version - b.version })
	return out
}

// setUp puts the file in write-ahead-log mode and applies the migrations
// it lacks. A new file is first set to give freed pages back to the file
// system when Prune asks (auto_vacuum INCREMENTAL, which only a file
// without tables can take).
//
// The migrations run in one transaction begun with BEGIN IMMEDIATE: it
// holds the file's write lock, so stores opening the file together, in
// any number of processes, apply each migration once (the others wait,
// then find nothing to do). A file migrated by a newer version of this
// package is accepted: migrations only add, so that the processes of the
// previous version keep working during a rolling upgrade.
func (s *Store) setUp(ctx context.Context) error {
	conn := s.w.conn
	err := retried(ctx, func() error {
		if _, err := conn.ExecContext(ctx, "PRAGMA auto_vacuum = INCREMENTAL"); err != nil {
			return err
		}
		var mode string
		if err := conn.QueryRowContext(ctx, "PRAGMA journal_mode = WAL").Scan(&mode); err != nil {
			return err
		}
		if !strings.EqualFold(mode, "wal") {
			return fmt.Errorf("the file stays in journal mode %q: write-ahead logging needs a local file system that supports shared memory", mode)
		}
		return nil
	})
	if err != nil {
		if long := journalNeeded(s.path, err); long != nil {
			return long
		}
		return wrap("setting up the file", s.dbErr(withOpenCause(s.path, err)))
	}
	err = s.write(ctx, func(t *tx) error {
		if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS campaignconnector_migrations (
			version    INTEGER NOT NULL PRIMARY KEY,
			name       TEXT    NOT NULL,
			applied_at TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')))`); err != nil {
			return err
		}
		var current int
		if err := conn.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM campaignconnector_migrations`).Scan(&current); err != nil {
			return err
		}
		for _, m := range migrations() {
			if m.version <= current {
				continue
			}
			if _, err := conn.ExecContext(ctx, m.sql); err != nil {
				return fmt.Errorf("applying %s: %w", m.name, err)
			}
			if m.fill != nil {
				if err := m.fill(ctx, conn); err != nil {
					return fmt.Errorf("applying %s: %w", m.name, err)
				}
			}
			if _, err := conn.ExecContext(ctx, `INSERT INTO campaignconnector_migrations (version, name) VALUES (?, ?)`, m.version, m.name); err != nil {
				return err
			}
		}
		return nil
	})
	return wrap("migrating", err)
}

const (
	sqlUndatedChunk = `SELECT rowid, data FROM campaignconnector_pending WHERE rowid > ? AND due_at IS NULL ORDER BY rowid LIMIT ?`
	sqlDateRow      = `UPDATE campaignconnector_pending SET due_at = ? WHERE rowid = ?`
	dateChunk       = 1000
)

// datePending fills the due_at column of the pending rows written before
// it existed with their DueAt, decoded from their data as the store
// decodes it (so exactly, whatever the zone it was written in), a
// thousand rows at a time (dateChunk). A row whose data does not decode keeps no
// due_at: the listing reads such rows apart (as it does the rows of a
// process of an earlier version).
func datePending(ctx context.Context, conn *sql.Conn) error {
	upd, err := conn.PrepareContext(ctx, sqlDateRow)
	if err != nil {
		return err
	}
	defer upd.Close()
	type row struct {
		rowid int64
		data  []byte
	}
	var (
		chunk []row
		after int64 = -1 << 63
	)
	for {
		chunk = chunk[:0]
		rows, err := conn.QueryContext(ctx, sqlUndatedChunk, after, dateChunk)
		if err != nil {
			return err
		}
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.rowid, &r.data); err != nil {
				rows.Close()
				return err
			}
			chunk = append(chunk, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, r := range chunk {
			var d struct {
				DueAt time.Time `json:"due_at"`
			}
			if json.Unmarshal(r.data, &d) != nil {
				continue
			}
			if _, err := upd.ExecContext(ctx, nanos(d.DueAt), r.rowid); err != nil {
				return err
			}
		}
		if len(chunk) < dateChunk {
			return nil
		}
		after = chunk[len(chunk)-1].rowid
	}
}
