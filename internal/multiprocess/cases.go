package multiprocess

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// EachDeliverySentOnce: two processes with two engines each, on one
// database: each of the n deliveries one more process scheduled is sent
// exactly once, and none is lost. All are due before the children's
// engines run, and the engines of both start together once both processes
// are ready, claiming 32 deliveries at a time, so that they claim from the
// same backlog at once, many times over; the lease outlasts the test, so
// that only a delivery claimed twice while leased could be sent twice.
// (The other tests track while the children send.) How the work splits
// between the processes is up to their claims, which the store keeps
// apart (SQLite: they take turns on the file's write lock; PostgreSQL:
// each skips the rows the other holds): it is logged, not asserted (one
// process may claim the whole backlog before the other's first claim, and
// that is correct).
func EachDeliverySentOnce(t *testing.T, newDB NewDatabase, n int) {
	h := New(t, newDB)
	start := time.Now()
	require.NoError(t, h.Track(context.Background(), 0, n))
	tracked := time.Since(start)

	a := h.Start(ChildConfig{Name: "a", Lease: 10 * time.Minute, Batch: 32, Hold: true})
	b := h.Start(ChildConfig{Name: "b", Lease: 10 * time.Minute, Batch: 32, Hold: true})
	a.WaitLine(t, "ready", Stall)
	b.WaitLine(t, "ready", Stall)
	start = time.Now()
	a.Release(t)
	b.Release(t)
	h.WaitAllSent()
	sending := time.Since(start)
	a.Stop(t)
	b.Stop(t)

	sends := ReadSends(t, a, b)
	h.requireScheduled(n)
	counts := SendCounts(sends)
	for id := range h.scheduled {
		require.Equal(t, 1, counts[id], "delivery %s sent %d times", id, counts[id])
	}
	require.Len(t, counts, n, "nothing but the scheduled deliveries was sent")
	// The decision tallies of the four engines in two processes, added to
	// the same keys at once, and the parent's, add up.
	tallies, err := h.Engine.Tallies(context.Background(), store.TallyQuery{CampaignID: "cart_reminder"})
	require.NoError(t, err)
	byKind := map[rule.DecisionKind]int64{}
	for _, x := range tallies {
		byKind[x.Kind] += x.Count
	}
	require.Equal(t, map[rule.DecisionKind]int64{rule.Scheduled: int64(n), rule.Delivered: int64(n)}, byKind)
	byProc := map[string]int{}
	for _, s := range sends {
		byProc[s.Proc]++
	}
	t.Logf("%d deliveries tracked in %v (%.0f events/s), then sent once each in %v (%.0f deliveries/s); a sent %d, b %d",
		n, tracked.Round(time.Millisecond), float64(n)/tracked.Seconds(),
		sending.Round(time.Millisecond), float64(n)/sending.Seconds(), byProc["a"], byProc["b"])
}

// KilledEngineLeasesExpire: one of two processes is killed with SIGKILL
// while it holds claimed deliveries, sends in progress included: after
// the lease, the survivor sends them; none of the n is lost, and the only
// deliveries sent twice are those the killed process had sent without
// recording it (at least once, same ID).
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
func KilledEngineLeasesExpire(t *testing.T, newDB NewDatabase, n int) {
	const lease = 15 * time.Second
	h := New(t, newDB)
	victim := h.Start(ChildConfig{Name: "victim", Lease: lease, BlockAfter: n / 4})
	victim.WaitLine(t, "ready", Stall)

	ctx, cancel := context.WithCancel(context.Background())
	tracked := make(chan error, 1)
	go func() { tracked <- h.Track(ctx, 0, n) }()
	t.Cleanup(func() { // a failing test ends after tracking does
		cancel()
		<-tracked
	})
	first := victim.WaitLine(t, "blocked", Stall)
	survivor := h.Start(ChildConfig{Name: "survivor", Lease: lease})
	survivor.WaitLine(t, "ready", Stall)
	victim.Kill()
	killedAt := time.Now()
	err := <-tracked
	tracked <- err // for the cleanup
	require.NoError(t, err)
	h.WaitAllSent()
	survivor.Stop(t)

	// The killed process's "blocked" lines: sends it made and never saw
	// the end of.
	blocked := []string{first}
	for line := range victim.Lines() {
		if id, ok := strings.CutPrefix(line, "blocked "); ok {
			blocked = append(blocked, id)
		}
	}
	sends := ReadSends(t, survivor, victim)
	h.requireScheduled(n)
	counts := SendCounts(sends)
	require.Len(t, counts, n, "nothing but the scheduled deliveries was sent")
	held, inFlight := HeldAtDeath(t, victim)
	// A send slot records each send before it starts the next: at most one
	// send per slot was in flight, or sent and not recorded.
	require.LessOrEqual(t, len(inFlight), childEngines*childConcurrency, "at most one send in flight per send slot: %v", inFlight)
	for _, id := range blocked {
		require.Contains(t, inFlight, id, "a blocked send is in flight")
	}
	twice := 0
	for id := range h.scheduled {
		switch c := counts[id]; {
		case c == 1:
		case c == 2 && inFlight[id]:
			twice++
		default:
			require.Failf(t, "sent more than once, not in flight in the killed process", "delivery %s sent %d times; in flight: %v; sends: %+v (killed at %v)",
				id, c, inFlight[id], SendsOf(sends, id), killedAt)
		}
	}
	// What the killed process held, the survivor sent after the lease,
	// unless the killed process had sent it and recorded it just before
	// dying (recorded, but not yet noted "done" in its file). A blocked
	// send was never recorded.
	for id, leaseEnd := range held {
		again := FindSend(sends, "survivor", id)
		if again == nil {
			require.True(t, inFlight[id] && !slices.Contains(blocked, id), "the survivor did not send %s, which the killed process held (sends: %+v)", id, SendsOf(sends, id))
			continue
		}
		require.False(t, again.At.Before(leaseEnd), "the survivor sent %s at %v, before the killed process's lease ended at %v", id, again.At, leaseEnd)
		if inFlight[id] {
			require.Equal(t, 2, again.Attempt, "the second send is the second attempt")
		}
	}
	victimSent := 0
	for _, s := range sends {
		if s.Proc == "victim" {
			victimSent++
		}
	}
	t.Logf("the victim sent %d and was killed holding %d claimed deliveries, %d of them sent (%d blocked): the survivor sent them after the lease; %d sent twice, all in flight",
		victimSent, len(held), len(inFlight), len(blocked), twice)
}

// WakeUpAcrossProcesses: a delivery one store instance schedules for now
// is sent within a second by an engine in another process, woken by the
// store's notification: the child's engines run without a poll interval.
func WakeUpAcrossProcesses(t *testing.T, newDB NewDatabase) {
	h := New(t, newDB)
	far := h.Start(ChildConfig{Name: "far", Announce: true})
	far.WaitLine(t, "ready", Stall)
	const rounds = 20
	var lat []time.Duration
	for i := range rounds {
		start := time.Now()
		require.NoError(t, h.Engine.Track(context.Background(), received(i)))
		line := far.WaitLine(t, "sent", 10*time.Second)
		d := time.Since(start)
		require.Equal(t, User(i), strings.Fields(line)[1])
		lat = append(lat, d)
	}
	far.Stop(t)
	slices.Sort(lat)
	// The latencies are logged, not asserted: on a loaded machine either
	// process may be descheduled for a second. A lost wake-up is a send
	// that never comes (the child does not poll), which WaitLine fails.
	t.Logf("tracked in this process, sent by the other: median %v, max %v over %d rounds",
		lat[rounds/2].Round(time.Microsecond), lat[rounds-1].Round(time.Microsecond), rounds)
}
