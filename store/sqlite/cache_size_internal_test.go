package sqlite

import (
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
)

// TestCacheSizeReachesSQLite: the cache sizes WithCacheSize takes are
// what a connection of the store reports (in KiB, negative: SQLite's
// form of a size in bytes), the largest SQLite holds included; a larger
// one, which SQLite would take for another size, is refused.
func TestCacheSizeReachesSQLite(t *testing.T) {
	for _, bytes := range []int64{1 << 20, 64 << 20, maxCacheSize} {
		cfg := defaultConfig()
		if err := WithCacheSize(bytes)(&cfg); err != nil {
			t.Fatalf("WithCacheSize(%d): %v", bytes, err)
		}
		db, err := sql.Open("sqlite", dsn(filepath.Join(t.TempDir(), "c.db"), cfg, cfg.cacheBytes))
		if err != nil {
			t.Fatal(err)
		}
		var kib int64
		err = db.QueryRow("PRAGMA cache_size").Scan(&kib)
		db.Close()
		if err != nil || kib != -bytes/1024 {
			t.Fatalf("WithCacheSize(%d): the connection reports %d (%v), want %d", bytes, kib, err, -bytes/1024)
		}
	}
	for _, bytes := range []int64{maxCacheSize + 1024, 4 << 40, 1 << 62} {
		cfg := defaultConfig()
		if err := WithCacheSize(bytes)(&cfg); !errors.Is(err, ErrInvalidOption) {
			t.Errorf("WithCacheSize(%d): error %v, want ErrInvalidOption", bytes, err)
		}
	}
}
