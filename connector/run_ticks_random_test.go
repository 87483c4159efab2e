package connector

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/stretchr/testify/require"
)

// randomSends is a sender that takes a random while, fails some first
// attempts, and counts the sends in progress and the ones accepted.
type randomSends struct {
	mu       sync.Mutex
	rnd      *rand.Rand
	now      int
	most     int
	accepted map[string]int // by user/campaign
	failed   map[string]bool
}

func (s *randomSends) send(_ context.Context, d Delivery) error {
	key := d.UserID + "/" + d.CampaignID
	s.mu.Lock()
	s.now++
	s.most = max(s.most, s.now)
	took := []time.Duration{0, 0, 50 * time.Millisecond, 3 * time.Second, 40 * time.Second, 2 * time.Minute}[s.rnd.IntN(6)]
	fail := !s.failed[key] && s.rnd.IntN(5) == 0
	s.mu.Unlock()
	time.Sleep(took)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now--
	if fail {
		s.failed[key] = true
		return errors.New("provider down")
	}
	s.accepted[key]++
	return nil
}

// laggingStore is a memory store whose calls take a random while (so
// that Run's context may end during any of them) and of which a few
// Claims and NextDue calls fail.
type laggingStore struct {
	*runStore
	mu  sync.Mutex
	rnd *rand.Rand
}

func (s *laggingStore) lag() error {
	s.mu.Lock()
	d := time.Duration(s.rnd.IntN(40)) * time.Millisecond
	fail := s.rnd.IntN(30) == 0
	s.mu.Unlock()
	time.Sleep(d)
	if fail {
		return errStoreDown
	}
	return nil
}

func (s *laggingStore) Claim(ctx context.Context, ns string, now time.Time, lease time.Duration, limit int, token uint64) ([]store.Claim, error) {
	if err := s.lag(); err != nil {
		return nil, err
	}
	return s.runStore.Claim(ctx, ns, now, lease, limit, token)
}

func (s *laggingStore) NextDue(ctx context.Context, ns string) (time.Time, bool, error) {
	if err := s.lag(); err != nil {
		return time.Time{}, false, err
	}
	return s.runStore.NextDue(ctx, ns)
}

func (s *laggingStore) UpdateBatch(ctx context.Context, ns string, ops []store.Op) error {
	_ = s.lag() // a failure here would repeat sends, which the test counts
	return s.runStore.UpdateBatch(ctx, ns, ops)
}

// Run's Ticks, under random due times, slow, fast and failing sends, with
// one or two engines on a store and Run stopped and started again at
// random: no engine has more sends in progress than its send concurrency,
// Run returns only once its sends ended, and every delivery is accepted
// once.
func TestRunTicksRandom(t *testing.T) {
	for seed := range uint64(48) {
		slots := []int{1, 2, 3, 8}[seed%4]
		engines := 1 + int(seed/4)%2
		cancels := seed%16 >= 8
		t.Run(fmt.Sprintf("seed=%d/slots=%d/engines=%d/cancels=%v", seed, slots, engines, cancels), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				testRunTicksRandom(t, seed, slots, engines, cancels)
			})
		})
	}
}

func testRunTicksRandom(t *testing.T, seed uint64, slots, engines int, cancels bool) {
	rnd := rand.New(rand.NewPCG(seed, 7))
	opts := []Option{WithSendConcurrency(slots), WithBatchSize(3),
		WithRetryPolicy(RetryPolicy{MaxAttempts: 3, Base: time.Second, Max: 10 * time.Second})}
	var sends []*randomSends
	var hs []*runHarness
	for k := range engines {
		s := &randomSends{rnd: rand.New(rand.NewPCG(seed, uint64(k))), accepted: map[string]int{}, failed: map[string]bool{}}
		sends = append(sends, s)
		h := newRunHarness(t, s.send, opts...)
		st := &laggingStore{runStore: h.store, rnd: rand.New(rand.NewPCG(seed, 99))}
		if k > 0 { // on the first engine's store
			st = &laggingStore{runStore: hs[0].store, rnd: rand.New(rand.NewPCG(seed, 99+uint64(k)))}
			h.store = hs[0].store
		}
		e, err := New(st, SenderFunc(s.send), append([]Option{WithClock(h.engine.cfg.clock)}, opts...)...)
		require.NoError(t, err)
		h.engine = e
		hs = append(hs, h)
		h.run()
	}
	stopRun := func(h *runHarness) {
		h.cancel()
		select {
		case err := <-h.done:
			require.NoError(t, err)
		case <-time.After(10 * time.Minute):
			t.Fatal("Run did not return")
		}
	}
	want := map[string]bool{}
	for step := range 200 {
		user := fmt.Sprintf("u%d", rnd.IntN(60))
		kind := []event.Kind{event.EmailOpened, event.EmailClicked}[rnd.IntN(2)]
		campaign := map[event.Kind]string{event.EmailOpened: "now", event.EmailClicked: "sooner"}[kind]
		e := hs[rnd.IntN(len(hs))].engine
		require.NoError(t, e.Track(context.Background(), event.Event{UserID: user, Kind: kind, CampaignID: "o", ID: fmt.Sprint(step)}))
		want[user+"/"+campaign] = true
		time.Sleep(time.Duration(rnd.IntN(20000)) * time.Millisecond)
		if cancels && rnd.IntN(15) == 0 {
			k := rnd.IntN(len(hs))
			stopRun(hs[k])
			sends[k].mu.Lock()
			inProgress := sends[k].now
			sends[k].mu.Unlock()
			require.Zero(t, inProgress, "engine %d: a send in progress after Run returned", k)
			hs[k].run()
		}
	}
	time.Sleep(3 * time.Hour)
	synctest.Wait()
	for _, h := range hs {
		stopRun(h)
	}
	st, err := hs[0].engine.Stats(context.Background())
	require.NoError(t, err)
	require.Zero(t, st.Pending, "every delivery recorded")
	got := map[string]int{}
	for k, s := range sends {
		require.LessOrEqual(t, s.most, slots, "engine %d: sends in progress at once", k)
		require.Zero(t, s.now, "engine %d: a send in progress after Run returned", k)
		for key, n := range s.accepted {
			got[key] += n
		}
		t.Logf("engine %d: at most %d sends at once", k, s.most)
	}
	for key := range want {
		require.Equal(t, 1, got[key], "%s accepted", key)
	}
	require.Len(t, got, len(want))
}
