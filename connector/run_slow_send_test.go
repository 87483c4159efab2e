package connector

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/stretchr/testify/require"
)

// slowSends is a sender whose sends to the users in hold wait until the
// test releases them, and that records when each send started and how
// many were in progress at most.
type slowSends struct {
	mu      sync.Mutex
	hold    map[string]chan struct{}
	started map[string]time.Time // by user
	now     int                  // sends in progress
	most    int
}

func newSlowSends(held ...string) *slowSends {
	s := &slowSends{hold: map[string]chan struct{}{}, started: map[string]time.Time{}}
	for _, u := range held {
		s.hold[u] = make(chan struct{})
	}
	return s
}

func (s *slowSends) send(ctx context.Context, d Delivery) error {
	s.mu.Lock()
	s.started[d.UserID+"/"+d.CampaignID] = time.Now()
	s.now++
	s.most = max(s.most, s.now)
	release := s.hold[d.UserID]
	s.mu.Unlock()
	if release != nil {
		<-release
	}
	s.mu.Lock()
	s.now--
	s.mu.Unlock()
	return nil
}

// startedAt returns when the send of campaign to user started, and whether
// it did.
func (s *slowSends) startedAt(user, campaign string) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	at, ok := s.started[user+"/"+campaign]
	return at, ok
}

func (s *slowSends) mostAtOnce() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.most
}

// gate returns a channel that held sends wait on and the function that
// closes it, once. The test's cleanup closes it too, so that the held
// sends end, and Run with them, even when the test fails early.
func gate(t *testing.T) (<-chan struct{}, func()) {
	release := make(chan struct{})
	var once sync.Once
	free := func() { once.Do(func() { close(release) }) }
	t.Cleanup(free)
	return release, free
}

func trackFor(t *testing.T, e *Engine, user string, kind event.Kind) {
	t.Helper()
	require.NoError(t, e.Track(context.Background(), event.Event{UserID: user, Kind: kind, CampaignID: "o"}))
}

// A send that takes long holds its own slot, not what falls due meanwhile:
// with free slots, a delivery Track schedules for now goes out at once,
// and one whose timer fires goes out at its due time, while the slow send
// still waits.
func TestRunSendsWhatFallsDueDuringASlowSend(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSlowSends("slow")
		h := newRunHarness(t, s.send, WithSendConcurrency(4))
		h.run()
		trackFor(t, h.engine, "slow", event.EmailOpened) // "now": its send waits
		synctest.Wait()
		_, ok := s.startedAt("slow", "now")
		require.True(t, ok, "the slow send started")

		h.sleep(time.Second)
		trackFor(t, h.engine, "fast", event.EmailOpened)   // "now", due at once
		trackFor(t, h.engine, "fast", event.EmailClicked)  // "sooner", due in ten minutes
		trackFor(t, h.engine, "other", event.EmailClicked) // "sooner" too
		synctest.Wait()
		at, ok := s.startedAt("fast", "now")
		require.True(t, ok, "a delivery due now waited for the slow send")
		require.Equal(t, h.start.Add(time.Second), at)

		h.sleep(10 * time.Minute)
		for _, u := range []string{"fast", "other"} {
			at, ok := s.startedAt(u, "sooner")
			require.True(t, ok, "a delivery whose timer fired waited for the slow send")
			require.Equal(t, h.start.Add(time.Second+10*time.Minute), at, "sent at its due time")
		}

		close(s.hold["slow"])
		synctest.Wait()
		h.stop()
		st, err := h.engine.Stats(context.Background())
		require.NoError(t, err)
		require.Zero(t, st.Pending, "every delivery recorded")
	})
}

// The Ticks that Run starts beside a slow send share the send slots: no
// more sends are in progress at once than WithSendConcurrency allows, and
// a delivery due while every slot sends goes out as soon as one is free.
func TestRunKeepsToItsSendConcurrencyBesideSlowSends(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSlowSends("a", "b", "c")
		h := newRunHarness(t, s.send, WithSendConcurrency(2))
		h.run()
		for _, u := range []string{"a", "b", "c", "d"} {
			trackFor(t, h.engine, u, event.EmailOpened)
			synctest.Wait()
		}
		require.Equal(t, 2, s.mostAtOnce(), "two slots, two sends at once")
		for _, u := range []string{"c", "d"} {
			_, ok := s.startedAt(u, "now")
			require.False(t, ok, "%s started while two sends were in progress", u)
		}

		h.sleep(time.Minute)
		close(s.hold["a"]) // a slot comes free
		synctest.Wait()
		started := 0
		for _, u := range []string{"c", "d"} {
			if at, ok := s.startedAt(u, "now"); ok {
				started++
				require.Equal(t, h.start.Add(time.Minute), at, "sent as soon as a slot came free")
			}
		}
		require.Equal(t, 1, started, "one slot came free")
		close(s.hold["b"])
		close(s.hold["c"])
		synctest.Wait()
		require.Equal(t, 2, s.mostAtOnce())
		for _, u := range []string{"c", "d"} {
			_, ok := s.startedAt(u, "now")
			require.True(t, ok, "%s was never sent", u)
		}
		h.stop()
	})
}

// With one slot, a delivery due during a send waits for it: sends go out
// one at a time, in due order.
func TestRunWithOneSlotSendsOneAtATime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSlowSends("slow")
		h := newRunHarness(t, s.send) // one slot
		h.run()
		trackFor(t, h.engine, "slow", event.EmailOpened)
		synctest.Wait()
		h.sleep(time.Second)
		trackFor(t, h.engine, "fast", event.EmailOpened)
		h.sleep(time.Minute)
		_, ok := s.startedAt("fast", "now")
		require.False(t, ok, "a second send started beside the first with one slot")
		close(s.hold["slow"])
		synctest.Wait()
		at, ok := s.startedAt("fast", "now")
		require.True(t, ok)
		require.Equal(t, h.start.Add(time.Minute+time.Second), at)
		require.Equal(t, 1, s.mostAtOnce())
		h.stop()
	})
}
