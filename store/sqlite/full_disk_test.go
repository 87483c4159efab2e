//go:build linux || darwin

package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/internal/multiprocess"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/campaignconnector/campaignconnector/store/sqlite"
	"github.com/stretchr/testify/require"
)

// envFull runs TestWritesFailWhenTheFileCannotGrow's body: the child
// process whose file size limit the test lowers.
const envFull = "CCMP_FULL"

// The store's files cannot grow: the process's file size limit
// (RLIMIT_FSIZE) is lowered to the write-ahead log's size, as a full disk
// would stop it, so that SQLite's writes fail with EFBIG. The limit is the
// process's, so the test runs in a child process (the test binary run
// again), with SIGXFSZ ignored: a write past the limit then fails instead
// of killing the process. While the files cannot grow, every write fails
// with an error naming the file and the cause, and changes nothing: a
// Track, a TrackAll, a claim, a Save, a Publish, an Apply. Sends whose
// outcomes cannot be recorded are recorded once the files can grow again,
// within their lease: each delivery is sent once. After that, the events
// that failed are tracked again and deduplicated against those that were
// stored, every delivery is sent once, the decision tallies add up, the
// write-ahead log can be emptied and the file passes its integrity check.
func TestWritesFailWhenTheFileCannotGrow(t *testing.T) {
	if os.Getenv(envFull) != "" {
		synctest.Test(t, fileCannotGrow)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), envFull+"=1", "CCMP_PATH="+testPath(t))
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "the child failed:\n%s", out)
	if !strings.Contains(string(out), "--- PASS") {
		t.Skipf("the child did not run the test:\n%s", out)
	}
}

// limitFileSize sets the process's file size limit to n bytes; n < 0 lifts
// it to the hard limit.
func limitFileSize(t *testing.T, n int64) {
	t.Helper()
	var lim syscall.Rlimit
	require.NoError(t, syscall.Getrlimit(syscall.RLIMIT_FSIZE, &lim))
	lim.Cur = lim.Max
	if n >= 0 {
		lim.Cur = uint64(n)
	}
	require.NoError(t, syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim))
}

func fileCannotGrow(t *testing.T) {
	signal.Ignore(syscall.SIGXFSZ)
	ctx := context.Background()
	path := os.Getenv("CCMP_PATH")
	s, err := sqlite.Open(ctx, path)
	require.NoError(t, err)
	defer s.Close()

	var (
		mu        sync.Mutex
		sends     = map[string]int{}
		delivered = map[string]bool{}
		scheduled = map[string]string{} // delivery ID → user
		full      = make(chan struct{})
	)
	sender := connector.SenderFunc(func(_ context.Context, d connector.Delivery) error {
		mu.Lock()
		defer mu.Unlock()
		sends[d.ID]++
		if len(sends) == 1 { // the disk fills during the first send
			close(full)
		}
		return nil
	})
	observe := connector.ObserverFunc(func(d rule.Decision) {
		mu.Lock()
		defer mu.Unlock()
		switch d.Kind {
		case rule.Scheduled:
			scheduled[d.DeliveryID] = d.UserID
		case rule.Delivered:
			require.False(t, delivered[d.DeliveryID], "delivery %s recorded twice", d.DeliveryID)
			delivered[d.DeliveryID] = true
		}
	})
	e, err := connector.New(s, sender, connector.WithObserver(observe))
	require.NoError(t, err)
	require.NoError(t, e.Apply(ctx, multiprocess.Campaigns()))
	ev := func(i int) event.Event {
		return event.Event{ID: fmt.Sprint("rcv-", i), UserID: multiprocess.User(i), Kind: event.PushReceived, CampaignID: "abandoned_cart"}
	}
	require.NoError(t, e.Save(ctx, rule.Campaign{ID: "newsletter"}))
	for i := range 10 {
		require.NoError(t, e.Track(ctx, ev(i)))
	}
	fi, err := os.Stat(path + "-wal")
	require.NoError(t, err)
	walLimit := fi.Size()

	// The files cannot grow from the moment the first send starts until
	// 200 ms later (on the bubble's clock). The Tick stops at the first
	// delivery it cannot claim or check (it hands back the rest after
	// their lease); the outcomes of the sends under way are recorded once
	// the files can grow, as the engine tries again.
	lifted := make(chan struct{})
	go func() {
		<-full
		limitFileSize(t, walLimit)
		time.Sleep(200 * time.Millisecond)
		limitFileSize(t, -1)
		close(lifted)
	}()
	if _, err := e.Tick(ctx); err != nil {
		require.ErrorIs(t, err, syscall.EFBIG)
	}
	<-lifted
	time.Sleep(2 * time.Minute) // the leases of the deliveries handed back end
	_, err = e.Tick(ctx)
	require.NoError(t, err)
	mu.Lock()
	require.Len(t, sends, 10)
	for id, n := range sends {
		require.Equal(t, 1, n, "delivery %s sent once", id)
		require.True(t, delivered[id], "delivery %s recorded", id)
	}
	mu.Unlock()

	limitFileSize(t, walLimit)
	failed := func(err error) {
		t.Helper()
		require.ErrorIs(t, err, syscall.EFBIG)
		require.ErrorContains(t, err, path)
		require.ErrorContains(t, err, "RLIMIT_FSIZE")
	}
	failed(e.Track(ctx, ev(10)))
	_, err = s.User(ctx, "", multiprocess.User(10))
	require.ErrorIs(t, err, store.ErrNotFound, "a Track that failed stored nothing")

	// A duplicate of a stored event and new events, in one batch.
	batch := []event.Event{ev(0), ev(11), ev(12)}
	err = e.TrackAll(ctx, batch)
	require.Error(t, err)
	for _, te := range connector.TrackErrors(err) {
		failed(te)
	}
	notStored := map[int]bool{}
	for _, te := range connector.TrackErrors(err) {
		notStored[te.Index] = true
	}
	for i, x := range batch {
		if i > 0 {
			_, err := s.User(ctx, "", x.UserID)
			require.Equal(t, notStored[i], errors.Is(err, store.ErrNotFound), "event %d: stored unless TrackAll reported it failed", i)
		}
	}

	failed(e.Save(ctx, rule.Campaign{ID: "welcome"}))
	failed(e.Publish(ctx, "newsletter"))
	failed(e.Apply(ctx, []rule.Campaign{{ID: "welcome"}}))
	_, err = e.Campaign(ctx, "welcome")
	require.ErrorIs(t, err, connector.ErrUnknownCampaign, "no campaign was saved")
	rec, err := e.Campaign(ctx, "newsletter")
	require.NoError(t, err)
	require.Equal(t, rule.Draft, rec.State, "no campaign was published")

	// The files can grow again: the events that failed are tracked again,
	// the one stored before is a duplicate, the changes are made.
	limitFileSize(t, -1)
	require.NoError(t, e.Track(ctx, ev(10)))
	require.NoError(t, e.TrackAll(ctx, batch))
	require.NoError(t, e.Apply(ctx, []rule.Campaign{{ID: "welcome"}}))
	require.NoError(t, e.Publish(ctx, "newsletter"))
	n, err := e.Tick(ctx)
	require.NoError(t, err)
	require.Equal(t, 3, n, "users 10, 11 and 12 got a delivery; user 0's event was a duplicate")
	mu.Lock()
	defer mu.Unlock()
	for id, user := range scheduled {
		require.Equal(t, 1, sends[id], "delivery %s (%s) sent once", id, user)
		require.True(t, delivered[id], "delivery %s recorded", id)
	}
	require.Len(t, scheduled, 13)
	require.Len(t, sends, 13, "nothing but the scheduled deliveries was sent")

	require.NoError(t, e.FlushTallies(ctx))
	tallies, err := e.Tallies(ctx, store.TallyQuery{CampaignID: "cart_reminder"})
	require.NoError(t, err)
	byKind := map[rule.DecisionKind]int64{}
	for _, x := range tallies {
		byKind[x.Kind] += x.Count
	}
	require.Equal(t, int64(13), byKind[rule.Scheduled])
	require.Equal(t, int64(13), byKind[rule.Delivered])

	db := rawDB(t, path)
	var busy, log, done int
	require.NoError(t, db.QueryRow("PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &log, &done))
	require.Zero(t, busy, "the write-ahead log was checkpointed")
	fi, err = os.Stat(path + "-wal")
	require.NoError(t, err)
	require.Zero(t, fi.Size(), "the write-ahead log was emptied")
	var check string
	require.NoError(t, db.QueryRow("PRAGMA integrity_check").Scan(&check))
	require.Equal(t, "ok", check)
}
