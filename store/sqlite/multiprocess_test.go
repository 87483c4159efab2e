package sqlite_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/stretchr/testify/require"
)

// The multi-process tests run engines in child processes: the test binary
// itself, re-executed with -test.run=^TestHelperProcess$ and CCMP_ROLE set
// (the os/exec pattern). A child runs 2 engines with Run on the real
// clock, each on a store of its own from sqlite.Open. It appends to a
// file what it claimed (before the engine sees the claim) and sent (before
// Send returns), so that both survive a SIGKILL, and a "done" line after
// each recorded delivery (once the store committed it). It stops when its
// stdin closes (the parent stops it, or died) and talks to the parent with
// stdout lines starting "ccmp:".
//
// The parent schedules the deliveries by tracking events through an engine
// of its own that never sends, waits until the store holds no pending
// delivery, stops the children and counts the sends of every delivery ID.

const (
	envRole       = "CCMP_ROLE" // "child" in a child process
	envPath       = "CCMP_PATH"
	envNamespace  = "CCMP_NAMESPACE"
	envSends      = "CCMP_SENDS" // the file the child appends to
	envLease      = "CCMP_LEASE"
	envBatch      = "CCMP_BATCH"
	envBlockAfter = "CCMP_BLOCK_AFTER" // > 0: every send after that many hangs
	envAnnounce   = "CCMP_ANNOUNCE"    // "1": announce each send on stdout
	envTrack      = "CCMP_TRACK"       // set: the child tracks instead (see childConfig.track)
	envHold       = "CCMP_HOLD"        // "1": the engines run once the parent says "go" on stdin

	linePrefix = "ccmp:"

	childEngines     = 2
	childConcurrency = 256 // the engine's default send concurrency: its sends in progress at most
)

// TestHelperProcess is the child process of the multi-process tests; run
// on its own, it skips.
func TestHelperProcess(t *testing.T) {
	if os.Getenv(envRole) != "child" {
		t.Skip("the child process of the multi-process tests, which run it")
	}
	runChild(t)
}

// Two processes with two engines each, on one database: each of the
// deliveries one more process scheduled is sent exactly once, and none is
// lost. All are due before the children's engines run, and the engines of
// both start together once both processes are ready, claiming 32
// deliveries at a time, so that they claim from the same backlog at once,
// many times over; the lease outlasts the test, so that only a delivery
// claimed twice while leased could be sent twice. (The other tests track
// while the children send.) How the work splits between the processes is
// up to their claims, which take turns on the file's write lock: it is
// logged, not asserted (one process may claim the whole backlog before the
// other's first claim, and that is correct).
func TestMultiProcessEachDeliverySentOnce(t *testing.T) {
	h := newMultiProcess(t)
	start := time.Now()
	require.NoError(t, h.track(context.Background(), 0, mpDeliveries))
	tracked := time.Since(start)

	a := h.start(childConfig{name: "a", lease: 10 * time.Minute, batch: 32, hold: true})
	b := h.start(childConfig{name: "b", lease: 10 * time.Minute, batch: 32, hold: true})
	a.waitLine(t, "ready", mpStall)
	b.waitLine(t, "ready", mpStall)
	start = time.Now()
	a.release(t)
	b.release(t)
	h.waitAllSent()
	sending := time.Since(start)
	a.stop(t)
	b.stop(t)

	sends := h.readSends(a, b)
	h.requireScheduled(mpDeliveries)
	counts := sendCounts(sends)
	for id := range h.scheduled {
		require.Equal(t, 1, counts[id], "delivery %s sent %d times", id, counts[id])
	}
	require.Len(t, counts, mpDeliveries, "nothing but the scheduled deliveries was sent")
	// The decision tallies of the four engines in two processes, added to
	// the same keys at once, and the parent's, add up.
	tallies, err := h.engine.Tallies(context.Background(), store.TallyQuery{CampaignID: "cart_reminder"})
	require.NoError(t, err)
	byKind := map[rule.DecisionKind]int64{}
	for _, x := range tallies {
		byKind[x.Kind] += x.Count
	}
	require.Equal(t, map[rule.DecisionKind]int64{rule.Scheduled: mpDeliveries, rule.Delivered: mpDeliveries}, byKind)
	byProc := map[string]int{}
	for _, s := range sends {
		byProc[s.proc]++
	}
	t.Logf("%d deliveries tracked in %v (%.0f events/s), then sent once each in %v (%.0f deliveries/s); a sent %d, b %d",
		mpDeliveries, tracked.Round(time.Millisecond), mpDeliveries/tracked.Seconds(),
		sending.Round(time.Millisecond), mpDeliveries/sending.Seconds(), byProc["a"], byProc["b"])
}

// One of two processes is killed with SIGKILL while it holds claimed
// deliveries, sends in progress included: after the lease, the survivor
// sends them; none is lost, and the only deliveries sent twice are those
// the killed process had sent without recording it (at least once, same
// ID).
//
// The victim runs alone while the deliveries are tracked, so that it sends
// a quarter of them and then blocks in its sends, whatever the machine's
// speed; the survivor starts then, and sends alongside it until it is
// killed, and after.
//
// The lease is short for the test's sake. The engines renew the lease of
// each delivery at its last check and while it is being sent; a claimed
// delivery that waits for a free send slot past its lease may go to the
// other process, and is then skipped by the first. So a delivery is sent
// twice only if the process that sent it died before recording it.
func TestMultiProcessKilledEngineLeasesExpire(t *testing.T) {
	const lease = 15 * time.Second
	h := newMultiProcess(t)
	victim := h.start(childConfig{name: "victim", lease: lease, blockAfter: mpDeliveries / 4})
	victim.waitLine(t, "ready", mpStall)

	ctx, cancel := context.WithCancel(context.Background())
	tracked := make(chan error, 1)
	go func() { tracked <- h.track(ctx, 0, mpDeliveries) }()
	t.Cleanup(func() { // a failing test ends after tracking does
		cancel()
		<-tracked
	})
	first := victim.waitLine(t, "blocked", mpStall)
	survivor := h.start(childConfig{name: "survivor", lease: lease})
	survivor.waitLine(t, "ready", mpStall)
	victim.kill()
	killedAt := time.Now()
	err := <-tracked
	tracked <- err // for the cleanup
	require.NoError(t, err)
	h.waitAllSent()
	survivor.stop(t)

	// The killed process's "blocked" lines: sends it made and never saw
	// the end of.
	blocked := []string{first}
	for line := range victim.lines {
		if id, ok := strings.CutPrefix(line, "blocked "); ok {
			blocked = append(blocked, id)
		}
	}
	sends := h.readSends(survivor, victim)
	h.requireScheduled(mpDeliveries)
	counts := sendCounts(sends)
	require.Len(t, counts, mpDeliveries, "nothing but the scheduled deliveries was sent")
	held, inFlight := heldAtDeath(t, victim)
	// A send slot records each send before it starts the next: at most one
	// send per slot was in flight, or sent and not recorded.
	require.LessOrEqual(t, len(inFlight), childEngines*childConcurrency, "at most one send in flight per send slot: %v", inFlight)
	for _, id := range blocked {
		require.Contains(t, inFlight, id, "a blocked send is in flight")
	}
	twice := 0
	for id := range h.scheduled {
		switch n := counts[id]; {
		case n == 1:
		case n == 2 && inFlight[id]:
			twice++
		default:
			require.Failf(t, "sent more than once, not in flight in the killed process", "delivery %s sent %d times; in flight: %v; sends: %+v (killed at %v)",
				id, n, inFlight[id], sendsOf(sends, id), killedAt)
		}
	}
	// What the killed process held, the survivor sent after the lease,
	// unless the killed process had sent it and recorded it just before
	// dying (recorded, but not yet noted "done" in its file). A blocked
	// send was never recorded.
	for id, leaseEnd := range held {
		again := findSend(sends, "survivor", id)
		if again == nil {
			require.True(t, inFlight[id] && !slices.Contains(blocked, id), "the survivor did not send %s, which the killed process held (sends: %+v)", id, sendsOf(sends, id))
			continue
		}
		require.False(t, again.at.Before(leaseEnd), "the survivor sent %s at %v, before the killed process's lease ended at %v", id, again.at, leaseEnd)
		if inFlight[id] {
			require.Equal(t, 2, again.attempt, "the second send is the second attempt")
		}
	}
	victimSent := 0
	for _, s := range sends {
		if s.proc == "victim" {
			victimSent++
		}
	}
	t.Logf("the victim sent %d and was killed holding %d claimed deliveries, %d of them sent (%d blocked): the survivor sent them after the lease; %d sent twice, all in flight",
		victimSent, len(held), len(inFlight), len(blocked), twice)
}

// A delivery one store instance schedules for now is sent within a second
// by an engine in another process, woken by the store's notification: the
// child's engines run without a poll interval.
func TestMultiProcessWakeUpAcrossProcesses(t *testing.T) {
	h := newMultiProcess(t)
	far := h.start(childConfig{name: "far", announce: true})
	far.waitLine(t, "ready", mpStall)
	const rounds = 20
	var lat []time.Duration
	for i := range rounds {
		start := time.Now()
		user := mpUser(i)
		require.NoError(t, h.engine.Track(context.Background(),
			event.Event{ID: fmt.Sprint("rcv-", i), UserID: user, Kind: event.PushReceived, CampaignID: "abandoned_cart"}))
		line := far.waitLine(t, "sent", 10*time.Second)
		d := time.Since(start)
		require.Equal(t, user, strings.Fields(line)[1])
		lat = append(lat, d)
	}
	far.stop(t)
	slices.Sort(lat)
	// The latencies are logged, not asserted: on a loaded machine either
	// process may be descheduled for a second. A lost wake-up is a send
	// that never comes (the child does not poll), which waitLine fails.
	t.Logf("tracked in this process, sent by the other: median %v, max %v over %d rounds",
		lat[rounds/2].Round(time.Microsecond), lat[rounds-1].Round(time.Microsecond), rounds)
}
