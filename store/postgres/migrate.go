package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ErrSchemaOutdated reports, with [WithMigrate](false), a schema that
// [Migrate] has not brought to the version this package needs.
var ErrSchemaOutdated = errors.New("postgres: schema outdated, run Migrate")

//go:embed migrations/*.sql
var migrationFiles embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

// migrationSteps are work in Go that a migration needs after its SQL, in
// the same transaction: converting data SQL cannot.
var migrationSteps = map[int]func(ctx context.Context, tx pgx.Tx, q *queries) error{
	3: convertDocuments,
}

// migrations returns the embedded migrations in version order. Their
// names are NNNN_description.sql; their SQL is written with {table}
// placeholders for the configured schema and prefix.
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
			panic("postgres: migration file without a version: " + e.Name())
		}
		b, err := migrationFiles.ReadFile("migrations/" + e.Name())
		if err != nil {
			panic(err)
		}
		out = append(out, migration{version: v, name: e.Name(), sql: string(b)})
	}
	slices.SortFunc(out, func(a, b migration) int { return a.version - b.version })
	return out
}

// Migrate brings the schema of the store pool's database to the version
// this package needs: it creates the schema (see [WithSchema]) and the
// tables if missing and applies the migrations not yet recorded in the
// table prefix+"migrations". It holds a transaction-scoped advisory lock
// (one per schema and prefix) throughout, so any number of processes may
// call it at once: the first applies what is missing in one transaction,
// the others then find nothing to do. [Open] and [New] call it unless
// [WithMigrate](false) is given; call it yourself from a deployment step
// when the application's role may not change the schema.
//
// A schema newer than this package knows is left alone and accepted:
// migrations keep replicas of the previous version working during a
// rolling upgrade. The exception is schema versions 3 and 4, which convert
// every user state and pending delivery from JSON to the store's binary
// encoding and drop the JSON columns (builds from before the first
// release, v0.1.0, wrote JSON; every release writes the binary encoding):
// processes that wrote JSON fail every operation on the converted schema,
// so stop them first. The conversion holds the tables locked for about
// 2–3 minutes per million users and deliveries on a 2-vCPU machine (other
// migrations' lock times are in docs/stores.md): run Migrate as a
// deployment step of its own, with no deadline and no statement_timeout,
// rather than from an Open whose context may end first (it would roll
// back, and every restart would start over).
func Migrate(ctx context.Context, pool *pgxpool.Pool, opts ...Option) error {
	cfg, err := applyOptions(opts)
	if err != nil {
		return err
	}
	if pool == nil {
		return errors.New("postgres: nil pool")
	}
	if err := resolveSchema(ctx, pool, &cfg); err != nil {
		return err
	}
	return migrate(ctx, pool, cfg)
}

// resolveSchema fixes cfg.schema to the connection's current schema when
// no WithSchema was given, so that every query names its tables fully
// whatever the search_path of the pool's connections.
func resolveSchema(ctx context.Context, pool *pgxpool.Pool, cfg *config) error {
	if cfg.schema != "" {
		return nil
	}
	var schema *string
	if err := pool.QueryRow(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		return wrap("resolving the current schema", err)
	}
	if schema == nil {
		return errors.New("postgres: the connection's search_path names no schema that exists and the role may use (USAGE): use WithSchema, or grant USAGE on the schema")
	}
	cfg.schema = *schema
	return nil
}

func migrate(ctx context.Context, pool *pgxpool.Pool, cfg config) error {
	return migrateTo(ctx, pool, cfg, math.MaxInt)
}

// migrateTo applies the migrations up to version last.
func migrateTo(ctx context.Context, pool *pgxpool.Pool, cfg config, last int) error {
	q := newQueries(cfg)
	lock := int64(hashString(14695981039346656037, "campaignconnector/postgres migrate "+cfg.schema+"."+cfg.prefix))
	// READ COMMITTED whatever the pool's default: at REPEATABLE READ the
	// snapshot would be taken before the lock is granted, and a replica
	// that waited for another's migrations would not see them, and apply
	// them again.
	err := pgx.BeginTxFunc(ctx, pool, pgx.TxOptions{IsoLevel: pgx.ReadCommitted}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", lock); err != nil {
			return err
		}
		var exists bool
		if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", cfg.schema).Scan(&exists); err != nil {
			return err
		}
		if !exists {
			if _, err := tx.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{cfg.schema}.Sanitize()); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, q.r.Replace(`CREATE TABLE IF NOT EXISTS {migrations} (
			version    integer     PRIMARY KEY,
			name       text        NOT NULL,
			applied_at timestamptz NOT NULL DEFAULT now())`)); err != nil {
			return err
		}
		var current int
		if err := tx.QueryRow(ctx, q.r.Replace(`SELECT coalesce(max(version), 0) FROM {migrations}`)).Scan(&current); err != nil {
			return err
		}
		for _, m := range migrations() {
			if m.version <= current || m.version > last {
				continue
			}
			// The simple protocol runs a file of several statements.
			if _, err := tx.Conn().PgConn().Exec(ctx, q.r.Replace(m.sql)).ReadAll(); err != nil {
				return fmt.Errorf("applying %s: %w", m.name, err)
			}
			if step := migrationSteps[m.version]; step != nil {
				if err := step(ctx, tx, q); err != nil {
					return fmt.Errorf("applying %s: %w", m.name, err)
				}
			}
			if _, err := tx.Exec(ctx, q.r.Replace(`INSERT INTO {migrations} (version, name) VALUES ($1, $2)`), m.version, m.name); err != nil {
				return err
			}
		}
		return nil
	})
	return wrap("migrating", err)
}

// checkVersion fails unless Migrate has brought the schema to this
// package's version (or a later one).
func checkVersion(ctx context.Context, pool *pgxpool.Pool, cfg config) error {
	q := newQueries(cfg)
	var current int
	err := pool.QueryRow(ctx, q.r.Replace(`SELECT coalesce(max(version), 0) FROM {migrations}`)).Scan(&current)
	var pe *pgconn.PgError
	if errors.As(err, &pe) && (pe.Code == "42P01" || pe.Code == "3F000") { // no table, no schema
		current, err = 0, nil
	}
	if err != nil {
		return wrap("checking the schema version", err)
	}
	ms := migrations()
	if need := ms[len(ms)-1].version; current < need {
		return fmt.Errorf("%w: %s.%smigrations is at version %d, this package needs %d", ErrSchemaOutdated, cfg.schema, cfg.prefix, current, need)
	}
	return nil
}
