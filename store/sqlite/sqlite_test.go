package sqlite_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/campaignconnector/campaignconnector/store/sqlite"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMigrateConcurrentlyAndAgain(t *testing.T) {
	path := testPath(t)
	ctx := context.Background()
	stores := make([]*sqlite.Store, 6)
	errs := make([]error, len(stores))
	var wg sync.WaitGroup
	for i := range stores {
		wg.Go(func() { stores[i], errs[i] = sqlite.Open(ctx, path) })
	}
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err, "store %d", i)
		defer stores[i].Close()
	}
	db := rawDB(t, path)
	var versions, rows int
	require.NoError(t, db.QueryRow(`SELECT count(DISTINCT version), count(*) FROM campaignconnector_migrations`).Scan(&versions, &rows))
	require.Equal(t, versions, rows, "each migration applied once")
	require.GreaterOrEqual(t, versions, 1)
	var mode string
	require.NoError(t, db.QueryRow(`PRAGMA journal_mode`).Scan(&mode))
	require.Equal(t, "wal", mode)

	// Data written by one store is there for the next, reopened.
	_, err := stores[0].UpdateCampaign(ctx, "ns", "c", func(rec *store.CampaignRecord, _ bool) error {
		rec.Campaign, rec.State = rule.Campaign{ID: "c"}, rule.Draft
		return nil
	})
	require.NoError(t, err)
	for _, s := range stores {
		require.NoError(t, s.Close())
	}
	reopened := openStore(t, path)
	_, recs, err := reopened.Campaigns(ctx, "ns")
	require.NoError(t, err)
	require.Len(t, recs, 1)
}

// rawDB opens the store's file directly, closed when the test ends.
func rawDB(t testing.TB, path string) *sql.DB {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}

func TestInvalidOptionsAndPaths(t *testing.T) {
	ctx := context.Background()
	for _, opt := range []sqlite.Option{
		sqlite.WithSynchronous("OFF"),
		sqlite.WithBusyTimeout(0),
		sqlite.WithReaders(0),
		sqlite.WithCacheSize(1000),
		sqlite.WithRevisionMaxAge(0),
		sqlite.WithNotifyInterval(-time.Second),
		sqlite.WithLogger(nil),
	} {
		_, err := sqlite.Open(ctx, testPath(t), opt)
		require.ErrorIs(t, err, sqlite.ErrInvalidOption)
	}
	// Each refusal says what was wrong with the path, not only what to give.
	for path, why := range map[string]string{
		"":                      "empty",
		":memory:":              "in-memory database",
		"file:x.db?mode=memory": "URI",
		"file:/var/lib/c.db":    "URI",
	} {
		_, err := sqlite.Open(ctx, path)
		require.ErrorIs(t, err, sqlite.ErrInvalidPath, path)
		require.ErrorContains(t, err, why, path)
		require.ErrorContains(t, err, "give the path of a file", path)
	}
	missing := filepath.Join(t.TempDir(), "no", "such", "dir")
	_, err := sqlite.Open(ctx, filepath.Join(missing, "cc.db"))
	require.ErrorIs(t, err, sqlite.ErrInvalidPath, "the directory must exist")
	require.ErrorContains(t, err, fmt.Sprintf("directory %q does not exist", missing), "the error names the missing directory")
	require.ErrorContains(t, err, filepath.Join(missing, "cc.db"), "and the path")
	dir := t.TempDir()
	_, err = sqlite.Open(ctx, dir)
	require.ErrorIs(t, err, sqlite.ErrInvalidPath, "a directory is not a database file")
	require.ErrorContains(t, err, "is a directory")
	file := filepath.Join(dir, "plain")
	require.NoError(t, os.WriteFile(file, nil, 0o600))
	_, err = sqlite.Open(ctx, filepath.Join(file, "cc.db"))
	require.ErrorIs(t, err, sqlite.ErrInvalidPath, "a file is not a directory")
}

func TestCloseLeavesNoGoroutine(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	ctx := context.Background()
	s, err := sqlite.Open(ctx, testPath(t))
	require.NoError(t, err)
	ch, stop := s.Notify("ns")
	schedule(t, s, "ns", "u", "d", t0)
	waitFor(t, ch, 10*time.Second, "own delivery")
	stop()
	require.NoError(t, s.Close())
	require.NoError(t, s.Close(), "idempotent")
	_, err = s.Revision(ctx, "ns")
	require.ErrorIs(t, err, store.ErrClosed)
	require.ErrorIs(t, s.Update(ctx, "ns", "u", t0, store.Dedup{}, func(*store.UserState, bool) {}), store.ErrClosed)
	require.ErrorIs(t, s.Backup(ctx, filepath.Join(t.TempDir(), "b.db")), store.ErrClosed)
}

// Two stores on one file, as two processes would have, share campaigns
// (the revision within its max age), users and the queue.
func TestStoresShareData(t *testing.T) {
	path := testPath(t)
	a := openStore(t, path)
	b := openStore(t, path, sqlite.WithRevisionMaxAge(10*time.Millisecond))
	ctx := context.Background()
	const ns = "shared"

	rev0, err := b.Revision(ctx, ns)
	require.NoError(t, err)
	rec, err := a.UpdateCampaign(ctx, ns, "c", func(rec *store.CampaignRecord, _ bool) error {
		rec.Campaign, rec.State, rec.CreatedAt = rule.Campaign{ID: "c", Message: json.RawMessage(`{"z":1,"a":[2]}`)}, rule.Active, t0
		return nil
	})
	require.NoError(t, err)
	require.Greater(t, rec.Revision, rev0)
	require.Eventually(t, func() bool {
		rev, err := b.Revision(ctx, ns)
		return err == nil && rev == rec.Revision
	}, 5*time.Second, 5*time.Millisecond, "b sees a's revision within its max age")
	_, recs, err := b.Campaigns(ctx, ns)
	require.NoError(t, err)
	require.Len(t, recs, 1)
	require.Equal(t, `{"z":1,"a":[2]}`, string(recs[0].Campaign.Message), "the message is kept byte for byte")

	schedule(t, a, ns, "u", "d1", t0)
	got, err := b.User(ctx, ns, "u")
	require.NoError(t, err)
	require.Len(t, got.Pending, 1)
	claims, err := b.Claim(ctx, ns, t0, time.Minute, 10, 1)
	require.NoError(t, err)
	require.Len(t, claims, 1)
	none, err := a.Claim(ctx, ns, t0, time.Minute, 10, 2)
	require.NoError(t, err)
	require.Empty(t, none, "a sees b's lease")
}

// Another connection (another process, say) holds the file's write lock
// for longer than the busy timeout: the store's calls wait, try again,
// and succeed once the lock is released; none fails.
func TestLockedFileIsRetriedNotSurfaced(t *testing.T) {
	path := testPath(t)
	// The lock is released after two busy timeouts, and the calls give up
	// after five: three timeouts of slack for a busy machine to schedule
	// the release late.
	const timeout = 250 * time.Millisecond
	s := openStore(t, path, sqlite.WithBusyTimeout(timeout))
	ctx := context.Background()
	other, err := rawDB(t, path).Conn(ctx)
	require.NoError(t, err)
	defer other.Close()
	_, err = other.ExecContext(ctx, "BEGIN IMMEDIATE")
	require.NoError(t, err)

	start := time.Now()
	done := make(chan error, 2)
	go func() { done <- s.Update(ctx, "ns", "u", t0, store.Dedup{}, func(u *store.UserState, _ bool) {}) }()
	go func() { _, err := s.Take(ctx, "ns", "k", 1, t0, t0.Add(time.Minute)); done <- err }()
	// Release the lock after two busy timeouts: the first attempts of
	// the calls have failed, the later ones succeed.
	time.Sleep(2 * timeout)
	_, err = other.ExecContext(ctx, "COMMIT")
	require.NoError(t, err)
	for range 2 {
		require.NoError(t, <-done)
	}
	require.GreaterOrEqual(t, time.Since(start), 2*timeout, "the calls waited for the lock")
}

// Claimers and updaters on four stores on one file: no call fails, and no
// delivery is claimed twice while leased.
func TestStoresOnOneFileShareTheQueue(t *testing.T) {
	path := testPath(t)
	var stores []*sqlite.Store
	for range 4 {
		stores = append(stores, openStore(t, path))
	}
	ctx := context.Background()
	const ns, deliveries = "race", 400
	for i := range deliveries {
		schedule(t, stores[i%4], ns, fmt.Sprintf("u%d", i%23), fmt.Sprintf("d%d", i), t0.Add(time.Duration(i)*time.Microsecond))
	}
	var (
		mu   sync.Mutex
		seen = map[string]int{}
		wg   sync.WaitGroup
	)
	for w := range 8 {
		wg.Go(func() {
			s := stores[w%4]
			for token := uint64(w*1000 + 1); ; token++ {
				claims, err := s.Claim(ctx, ns, t0.Add(time.Second), time.Hour, 5, token)
				if err != nil {
					t.Error(err)
					return
				}
				if len(claims) == 0 {
					return
				}
				for _, c := range claims {
					mu.Lock()
					seen[c.Pending.ID]++
					mu.Unlock()
					err := s.Update(ctx, ns, c.UserID, t0.Add(time.Second), store.Dedup{}, func(u *store.UserState, _ bool) {
						if i := u.Find(c.Pending.ID); i >= 0 && u.Pending[i].Token == token {
							u.RemovePending(i)
							u.SetReceipt(store.Receipt{CampaignID: c.Pending.ID, At: t0})
						}
					})
					if err != nil {
						t.Error(err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	require.Len(t, seen, deliveries)
	for id, n := range seen {
		require.Equal(t, 1, n, "delivery %s claimed %d times", id, n)
	}
	st, err := stores[0].Stats(ctx, ns)
	require.NoError(t, err)
	require.Zero(t, st.Pending)
	require.EqualValues(t, 23, st.Users)
}

// A store's subscribers hear of a delivery another store on the file
// scheduled first, within the notify interval, and nothing of other
// namespaces.
func TestNotifyAcrossStores(t *testing.T) {
	path := testPath(t)
	a := openStore(t, path)
	b := openStore(t, path, sqlite.WithNotifyInterval(10*time.Millisecond))
	ctx := context.Background()
	const ns = "wake"
	ch, stop := b.Notify(ns)
	defer stop()
	waitFor(t, ch, 10*time.Second, "the first look")
	other, stopOther := b.Notify("other")
	defer stopOther()
	waitFor(t, other, 10*time.Second, "the first look")

	schedule(t, a, ns, "u", "d1", t0.Add(time.Hour))
	waitFor(t, ch, 10*time.Second, "a new delivery through another store")
	// Ready earlier (a release) notifies too.
	require.NoError(t, a.Update(ctx, ns, "u", t0, store.Dedup{}, func(u *store.UserState, _ bool) {
		u.Pending[0].ReadyAt = t0
	}))
	waitFor(t, ch, 10*time.Second, "a delivery made ready earlier")
	// A later delivery of another user does not.
	schedule(t, a, ns, "v", "d2", t0.Add(2*time.Hour))
	time.Sleep(50 * time.Millisecond) // several looks; what follows holds whatever the timing
	select {
	case <-ch:
		t.Fatal("a delivery due after another user's notified")
	case <-other:
		t.Fatal("a namespace with no change was notified")
	default:
	}
}

// The backup is a consistent copy taken while updates go on: it opens as
// a store, passes SQLite's integrity check, and holds every user whole.
func TestBackupWhileWriting(t *testing.T) {
	path := testPath(t)
	s := openStore(t, path)
	ctx := context.Background()
	for i := range 200 {
		schedule(t, s, "ns", fmt.Sprint("u", i), "d", t0)
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 200; ; i++ {
			select {
			case <-done:
				return
			default:
			}
			err := s.Update(ctx, "ns", fmt.Sprint("u", i), t0, store.Dedup{}, func(u *store.UserState, _ bool) {
				u.Pending = append(u.Pending, newPending(fmt.Sprint("u", i), "f", "d", t0))
				u.SetReceipt(store.Receipt{CampaignID: "f", At: t0})
			})
			if err != nil {
				t.Error(err)
				return
			}
		}
	})
	backup := filepath.Join(t.TempDir(), "backup.db")
	err := s.Backup(ctx, backup)
	close(done)
	wg.Wait()
	require.NoError(t, err)
	require.ErrorIs(t, s.Backup(ctx, backup), sqlite.ErrBackupExists)

	var check string
	require.NoError(t, rawDB(t, backup).QueryRow("PRAGMA integrity_check").Scan(&check))
	require.Equal(t, "ok", check)
	b := openStore(t, backup)
	st, err := b.Stats(ctx, "ns")
	require.NoError(t, err)
	require.GreaterOrEqual(t, st.Pending, int64(200))
	require.Equal(t, st.Pending, st.Users, "every user whole: one delivery each")
	for i := range int(st.Users) {
		u, err := b.User(ctx, "ns", fmt.Sprint("u", i))
		require.NoError(t, err, "users are written in order: the copy holds a prefix")
		require.Len(t, u.Pending, 1)
		require.Equal(t, i >= 200, len(u.Receipts) == 1, "user %d whole", i)
	}
}

// Times keep their nanoseconds: ReadyAt, DueAt, event times, the zero
// time; the queue compares them exactly.
func TestTimesKeepNanoseconds(t *testing.T) {
	s := openStore(t, testPath(t))
	ctx := context.Background()
	const ns = "time"
	due := t0.Add(1500 * time.Nanosecond)
	schedule(t, s, ns, "u", "d", due)
	got, err := s.User(ctx, ns, "u")
	require.NoError(t, err)
	require.True(t, got.Pending[0].DueAt.Equal(due))
	require.True(t, got.Pending[0].ReadyAt.Equal(due))
	next, ok, err := s.NextDue(ctx, ns)
	require.NoError(t, err)
	require.True(t, ok)
	require.True(t, next.Equal(due))
	claims, err := s.Claim(ctx, ns, due.Add(-time.Nanosecond), time.Minute, 1, 1)
	require.NoError(t, err)
	require.Empty(t, claims, "not due a nanosecond early")
	claims, err = s.Claim(ctx, ns, due, time.Minute+time.Nanosecond, 1, 1)
	require.NoError(t, err)
	require.Len(t, claims, 1, "due at its own time")
	require.True(t, claims[0].Pending.ReadyAt.Equal(due.Add(time.Minute+time.Nanosecond)))

	rec, err := s.UpdateCampaign(ctx, ns, "c", func(rec *store.CampaignRecord, _ bool) error {
		rec.Campaign, rec.CreatedAt = rule.Campaign{ID: "c"}, t0.Add(7*time.Nanosecond)
		return nil
	})
	require.NoError(t, err)
	require.True(t, rec.CreatedAt.Equal(t0.Add(7*time.Nanosecond)))
	require.True(t, rec.ActivatedAt.IsZero(), "the zero time stays zero")
	_, recs, err := s.Campaigns(ctx, ns)
	require.NoError(t, err)
	require.True(t, recs[0].CreatedAt.Equal(rec.CreatedAt))
	require.True(t, recs[0].ActivatedAt.IsZero())

	evs := []event.Event{
		{ID: "b", UserID: "u", Kind: event.SessionStart, Time: t0.Add(700 * time.Nanosecond)},
		{ID: "a", UserID: "u", Kind: event.SessionStart, Time: t0.Add(200 * time.Nanosecond)},
		{ID: "c", UserID: "u", Kind: event.SessionStart, Time: t0.Add(700 * time.Nanosecond)},
		{ID: "x", UserID: "u", Kind: event.SessionStart, Time: t0.Add(100 * time.Nanosecond)},
	}
	require.NoError(t, s.AppendInteractions(ctx, ns, evs, t0.Add(time.Hour)))
	var ids []string
	require.NoError(t, s.Interactions(ctx, ns, store.InteractionQuery{Since: t0.Add(200 * time.Nanosecond), Until: t0.Add(701 * time.Nanosecond)},
		func(ev event.Event) bool { ids = append(ids, ev.ID); return true }))
	require.Equal(t, []string{"a", "b", "c"}, ids)
}

// Properties keep their JSON numbers and nesting; strings keep what SQL
// text may not (a NUL byte).
func TestEventRoundTrip(t *testing.T) {
	s := openStore(t, testPath(t))
	ctx := context.Background()
	props := map[string]any{"price": json.Number("10.50"), "big": json.Number("12345678901234567890"),
		"nested": map[string]any{"list": []any{"a", json.Number("1"), true, nil}}, "nul": "a\x00b"}
	require.NoError(t, s.Update(ctx, "ns", "u\x00v", t0, store.Dedup{}, func(u *store.UserState, _ bool) {
		p := newPending("u\x00v", "f", "d", t0)
		p.Trigger.Properties = props
		u.Pending = append(u.Pending, p)
	}))
	got, err := s.User(ctx, "ns", "u\x00v")
	require.NoError(t, err)
	require.Equal(t, props, got.Pending[0].Trigger.Properties)
	_, err = s.User(ctx, "ns", "u")
	require.ErrorIs(t, err, store.ErrNotFound, "the user ID is kept whole, NUL included")
}

// Prune works in batches (more remembered IDs and users than a batch
// takes) and gives the freed pages back to the file system.
func TestPruneInBatchesShrinksTheFile(t *testing.T) {
	path := testPath(t)
	s := openStore(t, path)
	ctx := context.Background()
	const users, events = 2500, 6000
	var ops []store.Op
	for i := range events {
		user := fmt.Sprint("u", i%users)
		ops = append(ops, store.Op{UserID: user, Now: t0, Dedup: store.Dedup{EventID: fmt.Sprint("e", i), KeepUntil: t0.Add(time.Hour)},
			Fn: func(u *store.UserState, dup bool) {
				if len(u.Sends) == 0 {
					u.Sends = append(u.Sends, store.Send{CampaignID: "c", At: t0, Expires: t0.Add(time.Hour)})
					u.Log = append(u.Log, rule.Decision{Kind: rule.Delivered, Detail: string(make([]byte, 500)), At: t0})
				}
			}})
	}
	require.NoError(t, s.UpdateBatch(ctx, "ns", ops))
	pages := func() (inUse, free int64) {
		require.NoError(t, rawDB(t, path).QueryRow(`SELECT page_count - freelist_count, freelist_count FROM pragma_page_count, pragma_freelist_count`).Scan(&inUse, &free))
		return inUse, free
	}
	before, _ := pages()
	n, err := s.Prune(ctx, "ns", t0.Add(time.Hour-time.Nanosecond), t0)
	require.NoError(t, err)
	require.Zero(t, n)
	n, err = s.Prune(ctx, "ns", t0.Add(time.Hour), t0.Add(time.Hour))
	require.NoError(t, err)
	require.Equal(t, events+2*users, n, "every ID, send and decision")
	st, err := s.Stats(ctx, "ns")
	require.NoError(t, err)
	require.Zero(t, st.Users)
	after, free := pages()
	require.Less(t, after, before/4, "the file holds a quarter of the pages it held")
	require.Less(t, free, before/4, "and gave the freed ones back")
	t.Logf("pages in use %d → %d, free %d", before, after, free)
}
