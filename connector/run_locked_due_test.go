package connector

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/stretchr/testify/require"
)

// heldStore is a memory store on which, once held is set, a delivery is
// due that Claim does not hand out: another engine holds its row (a
// PostgreSQL Claim skips the rows other transactions lock). It counts
// the calls made at each instant, and ends Run's context should they
// never stop.
type heldStore struct {
	*runStore
	mu        sync.Mutex
	held      bool
	claims    int
	atInstant map[int64]int
	stop      func()
}

func (s *heldStore) call() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	at := time.Now().UnixNano()
	if s.atInstant[at]++; s.atInstant[at] > 1000 {
		s.stop() // Run spins: end it, for the test to fail rather than hang
	}
	return s.held
}

func (s *heldStore) Claim(ctx context.Context, ns string, now time.Time, lease time.Duration, limit int, token uint64) ([]store.Claim, error) {
	held := s.call()
	s.mu.Lock()
	s.claims++
	s.mu.Unlock()
	if held {
		return nil, nil
	}
	return s.runStore.Claim(ctx, ns, now, lease, limit, token)
}

func (s *heldStore) NextDue(ctx context.Context, ns string) (time.Time, bool, error) {
	if s.call() {
		return time.Now().Add(-time.Second), true, nil
	}
	return s.runStore.NextDue(ctx, ns)
}

// While a due delivery is held by another engine, Run does not claim in a
// tight loop: it looks again after a pause that grows as for a store
// error, idle or beside a send in progress.
func TestRunPausesWhileWhatIsDueIsHeldElsewhere(t *testing.T) {
	for _, sending := range []bool{false, true} {
		t.Run(map[bool]string{false: "idle", true: "beside a slow send"}[sending], func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				release := make(chan struct{})
				send := func(_ context.Context, d Delivery) error {
					if d.UserID == "slow" {
						<-release
					}
					return nil
				}
				h := newRunHarness(t, send, WithSendConcurrency(4))
				ctx, cancel := context.WithCancel(context.Background())
				t.Cleanup(cancel)
				st := &heldStore{runStore: h.store, atInstant: map[int64]int{}, stop: cancel}
				e, err := New(st, SenderFunc(send), WithClock(h.engine.cfg.clock), WithSendConcurrency(4))
				require.NoError(t, err)
				done := make(chan error, 1)
				go func() { done <- e.Run(ctx) }()
				synctest.Wait()
				if sending {
					trackFor(t, e, "slow", event.EmailOpened)
					synctest.Wait()
				}
				st.mu.Lock()
				st.held, st.claims = true, 0
				st.mu.Unlock()
				trackFor(t, e, "other", event.EmailOpened) // wakes Run
				time.Sleep(10 * time.Second)
				synctest.Wait()
				st.mu.Lock()
				claims, spun := st.claims, ctx.Err() != nil
				st.mu.Unlock()
				require.False(t, spun, "Run claimed in a tight loop")
				t.Logf("%d claims in 10 s", claims)
				require.LessOrEqual(t, claims, 15, "claims in 10 s")
				st.mu.Lock()
				st.held = false
				st.mu.Unlock()
				cancel()
				close(release)
				require.NoError(t, <-done)
			})
		})
	}
}
