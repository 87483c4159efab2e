package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/campaignconnector/campaignconnector/bench/internal/cputime"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/campaignconnector/campaignconnector/store/postgres"
	"github.com/campaignconnector/campaignconnector/store/sqlite"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// subject is a store under measurement: how to open a fresh one, and how
// many bytes it takes.
type subject struct {
	name string
	open func(ctx context.Context) (opened, error)
}

type opened struct {
	store store.Store
	// footprint returns the bytes the store's data takes: the database
	// files or tables, or the Go heap for the memory store.
	footprint func(ctx context.Context) (int64, error)
	// cpu returns the CPU time the store's own processes (a database
	// server) have used, besides this one's.
	cpu   func() time.Duration
	close func() error
}

func memorySubject() subject {
	return subject{name: "memory", open: func(context.Context) (opened, error) {
		before := heapInUse()
		m := store.NewMemory()
		return opened{
			store: m,
			footprint: func(context.Context) (int64, error) {
				n := heapInUse() - before
				runtime.KeepAlive(m)
				return n, nil
			},
			close: func() error { return nil },
		}, nil
	}}
}

func heapInUse() int64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

func sqliteSubject(dir string, sync sqlite.Synchronous) subject {
	name := "sqlite"
	if sync == sqlite.SynchronousFull {
		name = "sqlite, synchronous FULL"
	}
	n := 0
	return subject{name: name, open: func(ctx context.Context) (opened, error) {
		n++
		path := filepath.Join(dir, fmt.Sprintf("bench-%d-%d.db", time.Now().UnixNano(), n))
		s, err := sqlite.Open(ctx, path, sqlite.WithSynchronous(sync))
		if err != nil {
			return opened{}, err
		}
		return opened{
			store:     s,
			footprint: func(ctx context.Context) (int64, error) { return fileBytes(ctx, path) },
			close: func() error {
				err := s.Close()
				for _, suffix := range []string{"", "-wal", "-shm"} {
					os.Remove(path + suffix)
				}
				return err
			},
		}, nil
	}}
}

// fileBytes checkpoints the write-ahead log into the database file and
// returns the bytes of its pages in use (free pages not counted).
func fileBytes(ctx context.Context, path string) (int64, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return 0, err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		return 0, err
	}
	var pages, free, size int64
	err = db.QueryRowContext(ctx, "SELECT page_count, freelist_count, page_size FROM pragma_page_count, pragma_freelist_count, pragma_page_size").
		Scan(&pages, &free, &size)
	return (pages - free) * size, err
}

func postgresSubject(dsn, dataDir string) subject {
	n := 0
	return subject{name: "postgres", open: func(ctx context.Context) (opened, error) {
		n++
		schema := fmt.Sprintf("ccbench_sqlite_%d_%d", os.Getpid(), n)
		s, err := postgres.Open(ctx, dsn, postgres.WithSchema(schema))
		if err != nil {
			return opened{}, err
		}
		pool := s.Pool()
		return opened{
			store:     s,
			footprint: func(ctx context.Context) (int64, error) { return schemaBytes(ctx, pool, schema) },
			cpu:       func() time.Duration { return cputime.Server(dataDir) },
			close: func() error {
				s.Close()
				conn, err := pgx.Connect(context.Background(), dsn)
				if err != nil {
					return err
				}
				defer conn.Close(context.Background())
				_, err = conn.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
				return err
			},
		}, nil
	}}
}

// schemaBytes returns the bytes of the schema's tables, with their indexes
// and TOAST data, after a VACUUM.
func schemaBytes(ctx context.Context, pool *pgxpool.Pool, schema string) (int64, error) {
	rows, err := pool.Query(ctx, `SELECT quote_ident(schemaname) || '.' || quote_ident(tablename) FROM pg_tables WHERE schemaname = $1`, schema)
	if err != nil {
		return 0, err
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return 0, err
	}
	var total int64
	for _, t := range tables {
		if _, err := pool.Exec(ctx, "VACUUM "+t); err != nil {
			return 0, err
		}
		var n int64
		if err := pool.QueryRow(ctx, "SELECT pg_total_relation_size($1)", t).Scan(&n); err != nil {
			return 0, err
		}
		total += n
	}
	return total, nil
}
