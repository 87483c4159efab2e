package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/internal/multiprocess"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/stretchr/testify/require"
)

// The crash tests SIGKILL a child process in the middle of its work on
// the file, reopen the file as a restarted process would, and check what
// the file kept. They use the multi-process tests' children.

// A child tracks batches of triggers with TrackAll, noting each batch the
// call acknowledged, and is killed during a later call. Reopened, the file
// holds a delivery for every user of every acknowledged batch; the batch
// in progress is all there or not at all (one transaction); nothing of
// the later ones. Then every delivery the file holds is sent, once.
func TestCrashDuringTrackAllKeepsAcknowledgedEvents(t *testing.T) {
	const batch = 500
	h := newMultiProcess(t)
	c := h.Start(multiprocess.ChildConfig{Name: "tracker", Track: fmt.Sprintf("0 %d %d", crashUsers, batch)})
	c.WaitLine(t, "ready", multiprocess.Stall)
	killAt := 2 + rand.IntN(crashUsers/batch-3)
	for {
		var k int
		var took int64 // µs
		_, err := fmt.Sscan(c.WaitLine(t, "begin", multiprocess.Stall), &k, &took)
		require.NoError(t, err)
		if k >= killAt {
			// Somewhere in the call, if it takes as long as the one before.
			time.Sleep(time.Duration(rand.Int64N(took)) * time.Microsecond)
			break
		}
	}
	c.Kill()

	acked := map[int]bool{}
	for _, f := range c.Records(t) {
		if f[0] == "acked" {
			k, err := strconv.Atoi(f[1])
			require.NoError(t, err)
			acked[k] = true
		}
	}
	require.NotEmpty(t, acked, "the tracker acknowledged batches before it was killed")

	ctx := context.Background()
	s := h.DB.Open() // a restarted process
	has := make([]bool, crashUsers)
	for i := range crashUsers {
		u, err := s.User(ctx, h.NS, multiprocess.User(i))
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		require.NoError(t, err)
		require.Len(t, u.Pending, 1, "user %d", i)
		has[i] = true
	}
	inFlight := "after the call returned"
	for k := range crashUsers / batch {
		n := 0
		for i := k * batch; i < (k+1)*batch; i++ {
			if has[i] {
				n++
			}
		}
		switch {
		case acked[k]:
			require.Equal(t, batch, n, "batch %d was acknowledged: each of its events scheduled a delivery", k)
		case k == killAt:
			require.Contains(t, []int{0, batch}, n, "the batch in progress is all there or not at all, got %d of %d", n, batch)
			inFlight = map[bool]string{true: "during the call, committed", false: "during the call, rolled back"}[n == batch]
		default:
			require.Zero(t, n, "batch %d was never tracked", k)
		}
	}

	// Every delivery the file holds is sent, once.
	sent := map[string]int{}
	send := connector.SenderFunc(func(_ context.Context, d connector.Delivery) error {
		sent[d.UserID]++
		return nil
	})
	e, err := connector.New(s, send, connector.WithNamespace(h.NS), connector.WithSendConcurrency(1))
	require.NoError(t, err)
	for {
		n, err := e.Tick(ctx)
		require.NoError(t, err)
		if n == 0 {
			break
		}
	}
	for i := range crashUsers {
		if has[i] {
			require.Equal(t, 1, sent[multiprocess.User(i)], "user %d", i)
		} else {
			require.Zero(t, sent[multiprocess.User(i)], "user %d", i)
		}
	}
	t.Logf("killed at batch %d, %s; %d batches acknowledged", killAt, inFlight, len(acked))
}

// A child sends a backlog with Run and is killed while it sends, at a
// random moment: claimed batches, sends under way and their records
// lost. A second process, started on the reopened file, sends the rest
// once the killed process's leases end. Every delivery is sent; the only
// ones sent twice are those the killed process had sent without recording
// it (at least once, with the same ID, the second send as the next
// attempt), unless a process's store gave no answer within a lease: its
// records of that time are lost, and the deliveries they were about may
// be sent again by the other process (the killed one's kept outcomes die
// with it), as the reliability docs say. The lease is long enough that
// this takes a machine starved of CPU for seconds (the test's own
// packages beside it under -race, on two cores, have done it with a
// lease of 3 s), and such a run says so in its log.
func TestCrashDuringTickSendsEveryDelivery(t *testing.T) {
	const lease = 10 * time.Second
	h := newMultiProcess(t)
	require.NoError(t, h.TrackAll(context.Background(), 0, crashUsers))
	victim := h.Start(multiprocess.ChildConfig{Name: "victim", Lease: lease})
	victim.WaitLine(t, "ready", multiprocess.Stall)
	killAfter := crashUsers/4 + rand.IntN(crashUsers/2)
	last, moved := 0, time.Now()
	for n := countLines(t, victim.SendsFile(), "sent "); n < killAfter; n = countLines(t, victim.SendsFile(), "sent ") {
		if n != last {
			last, moved = n, time.Now()
		}
		require.Less(t, time.Since(moved), multiprocess.Stall, "the victim sent nothing for %v, %d of %d", multiprocess.Stall, n, killAfter)
		time.Sleep(time.Millisecond)
	}
	victim.Kill()

	survivor := h.Start(multiprocess.ChildConfig{Name: "survivor", Lease: lease})
	survivor.WaitLine(t, "ready", multiprocess.Stall)
	h.WaitAllSent()
	survivor.Stop(t)

	sends := multiprocess.ReadSends(t, survivor, victim)
	counts := multiprocess.SendCounts(sends)
	require.Len(t, counts, crashUsers, "every delivery sent, and nothing else")
	_, inFlight := multiprocess.HeldAtDeath(t, victim)
	// A store slower than the lease: the records it did not answer in
	// time are lost (logged at Error), and their deliveries sent again.
	const slowStore = "the store gave no answer within the lease"
	slow := survivor.Logged(t, slowStore) || victim.Logged(t, slowStore)
	twice, lost := 0, 0
	for id, n := range counts {
		switch {
		case n == 1:
		case slow:
			lost++
		case n == 2 && inFlight[id]:
			twice++
			again := multiprocess.FindSend(sends, "survivor", id)
			require.NotNil(t, again, "the second send of %s is the survivor's", id)
			require.Equal(t, multiprocess.FindSend(sends, "victim", id).Attempt+1, again.Attempt, "the second send of %s is the next attempt", id)
		default:
			require.Failf(t, "sent more than once, not in flight in the killed process", "delivery %s sent %d times: %+v", id, n, multiprocess.SendsOf(sends, id))
		}
	}
	t.Logf("killed after %d sends, %d of them in flight (not recorded); %d sent twice", killAfter, len(inFlight), twice)
	if slow {
		t.Logf("the store gave no answer within the lease (%v): %d deliveries sent more than once, their records lost", lease, lost)
	}
}

// countLines counts the lines of file starting with prefix.
func countLines(t *testing.T, file, prefix string) int {
	data, err := os.ReadFile(file)
	require.NoError(t, err)
	n := 0
	for line := range strings.Lines(string(data)) {
		if strings.HasPrefix(line, prefix) && strings.HasSuffix(line, "\n") {
			n++
		}
	}
	return n
}
