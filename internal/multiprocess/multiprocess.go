// Package multiprocess runs engines in child processes on one database,
// for the multi-process tests of each durable store: the SQLite and
// PostgreSQL stores' tests run the same children and check the same
// properties (each delivery sent once, none lost when a process is
// killed, a wake-up crossing processes).
//
// A child process is the test binary itself, re-executed with
// -test.run=^TestHelperProcess$ and CCMP_ROLE set (the os/exec pattern);
// a store's TestHelperProcess calls [HelperProcess]. A child runs 2
// engines with Run on the real clock, each on a store of its own. It
// appends to a file what it claimed (before the engine sees the claim) and
// sent (before Send returns), so that both survive a SIGKILL, and a "done"
// line after each recorded delivery (once the store committed it). It
// stops when its stdin closes (the parent stops it, or died) and talks to
// the parent with stdout lines starting "ccmp:".
//
// The parent ([Harness]) schedules the deliveries by tracking events
// through an engine of its own that never sends, waits until the store
// holds no pending delivery, stops the children and counts the sends of
// every delivery ID.
//
// A store's tests hand in what differs between stores: how to make a
// database of the test's own, open a store on it in the parent, and name
// it in a child's environment ([Database]), and how a child opens a store
// on it ([OpenFunc]).
package multiprocess

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// The environment of a child process, set by [Harness.Start]. A store
// adds the variables that name its database ([Database.Env]).
const (
	envRole       = "CCMP_ROLE" // "child" in a child process
	envNamespace  = "CCMP_NAMESPACE"
	envSends      = "CCMP_SENDS" // the file the child appends to
	envLease      = "CCMP_LEASE"
	envBatch      = "CCMP_BATCH"
	envBlockAfter = "CCMP_BLOCK_AFTER" // > 0: every send after that many hangs
	envAnnounce   = "CCMP_ANNOUNCE"    // "1": announce each send on stdout
	envTrack      = "CCMP_TRACK"       // set: the child tracks instead (see ChildConfig.Track)
	envHold       = "CCMP_HOLD"        // "1": the engines run once the parent says "go" on stdin

	linePrefix = "ccmp:"

	childEngines     = 2
	childConcurrency = 256 // the engine's default send concurrency: its sends in progress at most
)

// Stall is how long the multi-process tests wait for something that
// should happen (a child starting, a delivery being sent) before they call
// it a hang. It bounds a wait for progress, never the time the work takes:
// a loaded machine makes the tests slower, not failed.
const Stall = 3 * time.Minute

// Database is one database of a test's own, as the parent reaches it.
type Database struct {
	// Open opens a new store handle on the database, closed when the test
	// ends.
	Open func() store.Store
	// Env names the database in a child's environment ("KEY=value"), for
	// the child's [OpenFunc].
	Env []string
}

// NewDatabase makes a database of t's own, dropped or removed when t ends.
type NewDatabase func(t *testing.T) Database

// Campaigns returns the multi-process tests' campaigns: a reminder sent as
// soon as the push of "abandoned_cart" is received.
func Campaigns() []rule.Campaign {
	return []rule.Campaign{
		{ID: "abandoned_cart"},
		{ID: "cart_reminder", Triggers: []rule.Trigger{{Kind: event.PushReceived, CampaignID: "abandoned_cart"}},
			Message: json.RawMessage(`{"title":"Still thinking it over?"}`)},
	}
}

// User is the ID of the i-th user the tests track.
func User(i int) string { return fmt.Sprintf("user-%06d", i) }

// received is the event that schedules a reminder for User(i).
func received(i int) event.Event {
	return event.Event{ID: fmt.Sprint("rcv-", i), UserID: User(i), Kind: event.PushReceived, CampaignID: "abandoned_cart"}
}

// Harness is the parent's side: a database of the test's own, an engine
// that schedules without sending, and the children.
type Harness struct {
	// T is the test.
	T *testing.T
	// DB is the test's database.
	DB Database
	// NS is the namespace of the parent's and the children's engines.
	NS string
	// Engine is the parent's engine, which schedules and never sends;
	// nil in a harness of [Lifecycle].
	Engine *connector.Engine

	dir       string
	mu        sync.Mutex
	scheduled map[string]string // delivery ID → user, as the parent's engine decided
}

// New makes a database of t's own with [Campaigns] published on it, and
// the parent's engine.
func New(t *testing.T, newDB NewDatabase) *Harness {
	t.Helper()
	h := &Harness{T: t, DB: newDB(t), NS: "mp-" + t.Name(), dir: t.TempDir(), scheduled: map[string]string{}}
	observe := connector.ObserverFunc(func(d rule.Decision) {
		if d.Kind == rule.Scheduled {
			h.mu.Lock()
			h.scheduled[d.DeliveryID] = d.UserID
			h.mu.Unlock()
		}
	})
	never := connector.SenderFunc(func(context.Context, connector.Delivery) error {
		t.Error("the parent's engine sent a delivery: only the children should")
		return errors.New("the parent does not send")
	})
	var err error
	h.Engine, err = connector.New(h.DB.Open(), never, connector.WithNamespace(h.NS), connector.WithObserver(observe))
	require.NoError(t, err)
	ctx := context.Background()
	for _, c := range Campaigns() {
		require.NoError(t, h.Engine.Save(ctx, c))
	}
	require.NoError(t, h.Engine.Publish(ctx, "abandoned_cart"))
	require.NoError(t, h.Engine.Publish(ctx, "cart_reminder"))
	return h
}

// Track schedules the deliveries of users [from, to) from 8 goroutines.
func (h *Harness) Track(ctx context.Context, from, to int) error {
	const workers = 8
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := from + w; i < to; i += workers {
				if err := h.Engine.Track(ctx, received(i)); err != nil {
					errs[w] = err
					return
				}
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// TrackAll schedules the deliveries of users [from, to) with TrackAll, in
// batches of 1,000.
func (h *Harness) TrackAll(ctx context.Context, from, to int) error {
	for i := from; i < to; i += 1000 {
		var evs []event.Event
		for j := i; j < min(to, i+1000); j++ {
			evs = append(evs, received(j))
		}
		if err := h.Engine.TrackAll(ctx, evs); err != nil {
			return err
		}
	}
	return nil
}

// WaitAllSent polls the store until no delivery is pending: all were
// recorded as sent. It fails if the number pending stops going down for
// [Stall].
func (h *Harness) WaitAllSent() {
	h.T.Helper()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	last, moved := int64(-1), time.Now()
	for {
		st, err := h.Engine.Stats(context.Background())
		require.NoError(h.T, err)
		if st.Pending == 0 {
			return
		}
		if st.Pending != last {
			last, moved = st.Pending, time.Now()
		}
		if time.Since(moved) > Stall {
			h.T.Fatalf("%d deliveries still pending, none sent for %v", st.Pending, Stall)
		}
		<-tick.C
	}
}

// requireScheduled checks that the parent's engine scheduled n
// deliveries.
func (h *Harness) requireScheduled(n int) {
	h.T.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	require.Len(h.T, h.scheduled, n, "one delivery scheduled per user")
}
