package connector_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/store"
)

// batchPathDown is a memory store whose UpdateBatch fails while down
// (marking each op, as the contract says; silent: marking none), while
// Claim, Update and NextDue work: a Tick claims, and fails the checks.
type batchPathDown struct {
	*store.Memory
	silent bool
	down   atomic.Bool
	calls  atomic.Int32
}

var errBatchDown = errors.New("batch path down")

func (s *batchPathDown) UpdateBatch(ctx context.Context, ns string, ops []store.Op) error {
	if !s.down.Load() {
		return s.Memory.UpdateBatch(ctx, ns, ops)
	}
	s.calls.Add(1)
	if !s.silent {
		for i := range ops {
			ops[i].Err = errBatchDown
		}
	}
	return errBatchDown
}

// Run paces its Ticks after a Tick's store error as after one of its own
// store calls, 100 ms doubling up to 2 s, rather than start the next Tick
// at once: a store whose writes fail while its claims work (the Tick
// claims, fails its checks and gives the deliveries back, due at once)
// made it start Tick after Tick with no time passing, logging each error.
// Once the store is back, what is due goes out within the wait, and what
// a Tick could not give back once its lease ends.
func TestRunPacesItsTicksAfterTheirStoreErrors(t *testing.T) {
	for _, silent := range []bool{false, true} {
		t.Run(map[bool]string{false: "ops marked", true: "no op marked"}[silent], func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := &batchPathDown{Memory: store.NewMemory(), silent: silent}
				var logged syncBuffer
				l := &sendLog{}
				e, err := connector.New(s, l, connector.WithLogger(slog.New(slog.NewTextHandler(&logged, &slog.HandlerOptions{Level: slog.LevelError}))))
				require.NoError(t, err)
				dueFor(t, e, "u1", "u2")
				s.down.Store(true)
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				done := make(chan error, 1)
				go func() { done <- e.Run(ctx) }()
				time.Sleep(time.Minute)
				// The instants Run logged an error at: one Tick, or two
				// started together, each.
				instants := map[string]int{}
				for _, line := range strings.Split(strings.TrimSpace(logged.String()), "\n") {
					instants[strings.Fields(line)[0]]++
				}
				t.Logf("%d failed batches, errors logged at %d instants in a minute", s.calls.Load(), len(instants))
				// 100, 200, 400, 800 ms, 1.6 s, then 2 s (less a fifth at
				// most): about 35 rounds a minute.
				require.Less(t, len(instants), 45, "instants with errors in a minute")
				for at, n := range instants {
					require.LessOrEqual(t, n, 4, "errors logged at %s", at)
				}
				require.Positive(t, s.calls.Load())
				require.Empty(t, l.sends())
				s.down.Store(false)
				time.Sleep(2 * time.Second)
				synctest.Wait()
				// A Tick that failed as the store came back may have left
				// its claims leased (its give-back is a batch too): they
				// go at the end of the lease.
				if len(l.sends()) < 4 {
					time.Sleep(time.Minute)
					synctest.Wait()
				}
				require.Len(t, l.sends(), 4, "sent within the wait, or the lease, once the store is back")
				cancel()
				require.NoError(t, <-done)
			})
		})
	}
}

// everyOtherClaimFails is a memory store whose Claim fails every other
// call: a Tick claims, sends, and fails the next claim it makes.
type everyOtherClaimFails struct {
	*store.Memory
	calls atomic.Int32
}

var errClaimDown = errors.New("claim failed")

func (s *everyOtherClaimFails) Claim(ctx context.Context, ns string, now time.Time, lease time.Duration, limit int, token uint64) ([]store.Claim, error) {
	if s.calls.Add(1)%2 == 0 {
		return nil, errClaimDown
	}
	return s.Memory.Claim(ctx, ns, now, lease, limit, token)
}

// A Tick that sends and then fails (a claim of its that fails later)
// made progress: its error is paced as one of Run's own after a success,
// 100 ms, not as the next in a row of failures, which grows to 2 s. Each
// Tick here sends one delivery and fails its next claim: Run's waits
// grew to 2 s a delivery, the 20 taking 21 s rather than under 2.
func TestRunTickThatSentAndFailedStartsAFreshWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &everyOtherClaimFails{Memory: store.NewMemory()}
		var logged syncBuffer
		l := &sendLog{}
		e, err := connector.New(s, l, connector.WithSendConcurrency(1), connector.WithBatchSize(1),
			connector.WithLogger(slog.New(slog.NewTextHandler(&logged, &slog.HandlerOptions{Level: slog.LevelError}))))
		require.NoError(t, err)
		users := make([]string, 10)
		for i := range users {
			users[i] = fmt.Sprintf("u%d", i)
		}
		dueFor(t, e, users...)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		done := make(chan error, 1)
		start := time.Now()
		go func() { done <- e.Run(ctx) }()
		for len(l.sends()) < 20 && time.Since(start) < time.Minute {
			time.Sleep(10 * time.Millisecond)
		}
		took, lines := time.Since(start), strings.Count(logged.String(), "\n")
		t.Logf("20 sends in %v, %d error lines", took, lines)
		require.Len(t, l.sends(), 20)
		require.Less(t, took, 4*time.Second, "20 deliveries, each Tick's failure paced 100 ms")
		require.LessOrEqual(t, lines, 21, "one failed claim a Tick, each after a send")
		cancel()
		require.NoError(t, <-done)
	})
}
