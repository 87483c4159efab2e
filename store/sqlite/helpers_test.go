package sqlite_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/campaignconnector/campaignconnector/store/sqlite"
	"github.com/stretchr/testify/require"
)

// testPath returns the path of a database file in the test's own
// directory.
func testPath(tb testing.TB) string {
	tb.Helper()
	return filepath.Join(tb.TempDir(), "cc.db")
}

// openStore opens a store on path, closed when the test ends.
func openStore(tb testing.TB, path string, opts ...sqlite.Option) *sqlite.Store {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := sqlite.Open(ctx, path, opts...)
	require.NoError(tb, err)
	tb.Cleanup(func() { require.NoError(tb, s.Close()) })
	return s
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func newPending(user, campaignID, id string, due time.Time) *store.Pending {
	return &store.Pending{
		ID: id, CampaignID: campaignID, Activation: 1,
		Trigger: event.Event{ID: "ev-" + id, UserID: user, Kind: event.EmailReceived, CampaignID: "newsletter",
			Time: due.Add(-time.Hour)},
		DueAt: due, ReadyAt: due,
	}
}

// schedule adds a pending delivery to user's state.
func schedule(tb testing.TB, s store.Store, ns, user, id string, due time.Time) {
	tb.Helper()
	err := s.Update(context.Background(), ns, user, t0, store.Dedup{}, func(u *store.UserState, _ bool) {
		u.Pending = append(u.Pending, newPending(user, "f", id, due))
	})
	require.NoError(tb, err)
}

// waitFor fails the test unless ch receives within d.
func waitFor(tb testing.TB, ch <-chan struct{}, d time.Duration, what string) {
	tb.Helper()
	select {
	case <-ch:
	case <-time.After(d):
		tb.Fatalf("no notification within %v: %s", d, what)
	}
}

// backUpRefused backs s up to path, in an empty directory of its own, and
// checks that Backup fails with ErrInvalidPath, its text naming path and
// holding each of the texts in want, and leaves the directory empty; what
// names the backup in the test's messages. It returns Backup's error.
func backUpRefused(t *testing.T, s *sqlite.Store, path, what string, want ...string) error {
	t.Helper()
	err := s.Backup(context.Background(), path)
	if !errors.Is(err, sqlite.ErrInvalidPath) || !strings.Contains(err.Error(), path) {
		t.Errorf("%s: %v, want ErrInvalidPath naming the path", what, err)
	}
	for _, w := range want {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("%s: %v, want an error saying %q", what, err, w)
		}
	}
	if entries, err := os.ReadDir(filepath.Dir(path)); err != nil || len(entries) > 0 {
		t.Errorf("%s, refused, left %v (%v)", what, entries, err)
	}
	return err
}

// fileNames returns the names of the files in dir, sorted.
func fileNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}
