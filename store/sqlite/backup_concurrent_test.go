package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/store/sqlite"
)

// TestConcurrentBackupsToOnePath checks that of several backups to one
// path at once, one writes it and the others are refused with
// ErrBackupExists, as a backup to a path where one is already written is,
// rather than failing with SQLite's error of the copy they collide with
// ("table … already exists"). The copy written is whole.
func TestConcurrentBackupsToOnePath(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, filepath.Join(t.TempDir(), "c.db"))
	for i := range 300 {
		schedule(t, s, "ns", fmt.Sprintf("u%d", i), fmt.Sprintf("p%d", i), t0.Add(time.Hour))
	}
	target := filepath.Join(t.TempDir(), "b.db")
	errs := make([]error, 4)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = s.Backup(ctx, target)
		}()
	}
	close(start)
	wg.Wait()
	written := 0
	for _, err := range errs {
		switch {
		case err == nil:
			written++
		case !errors.Is(err, sqlite.ErrBackupExists):
			t.Errorf("a backup beside another to the same path: %v, want ErrBackupExists", err)
		}
	}
	if written != 1 {
		t.Fatalf("%d backups to one path written, want 1", written)
	}
	b := openStore(t, target)
	if n, err := b.PendingCount(ctx, "ns"); err != nil || n != 300 {
		t.Errorf("the copy holds %d pending deliveries (%v), want 300", n, err)
	}
}
