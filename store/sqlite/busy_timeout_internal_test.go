package sqlite

import (
	"database/sql"
	"path/filepath"
	"testing"
	"time"
)

// TestBusyTimeoutReachesSQLite: the busy timeouts WithBusyTimeout takes
// are what a connection of the store reports, the longest SQLite holds
// (2³¹-1 ms) included.
func TestBusyTimeoutReachesSQLite(t *testing.T) {
	for _, d := range []time.Duration{time.Millisecond, 5 * time.Second, (1<<31 - 1) * time.Millisecond} {
		cfg := defaultConfig()
		if err := WithBusyTimeout(d)(&cfg); err != nil {
			t.Fatalf("WithBusyTimeout(%v): %v", d, err)
		}
		db, err := sql.Open("sqlite", dsn(filepath.Join(t.TempDir(), "b.db"), cfg, 1<<20))
		if err != nil {
			t.Fatal(err)
		}
		var ms int64
		err = db.QueryRow("PRAGMA busy_timeout").Scan(&ms)
		db.Close()
		if err != nil || ms != d.Milliseconds() {
			t.Fatalf("WithBusyTimeout(%v): the connection reports %d ms (%v), want %d", d, ms, err, d.Milliseconds())
		}
	}
}
