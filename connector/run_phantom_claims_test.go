package connector_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// phantomStore is a memory store whose Claim hands out deliveries it
// never leased to the claim, as a broken custom store may: the rows a
// claim of another token leased once (stale), or a delivery no user's
// state holds (ghost). Its NextDue keeps saying something is due. It
// counts the claims, and ends Run's context should they never stop.
type phantomStore struct {
	*store.Memory
	ghost bool
	whole bool // every claim a full batch: the ghosts fill it, the stale rows are a batch's
	stop  context.CancelFunc

	mu     sync.Mutex
	claims int
	stale  []store.Claim
}

func (s *phantomStore) Claim(ctx context.Context, ns string, now time.Time, lease time.Duration, limit int, token uint64) ([]store.Claim, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.claims++; s.claims > 10000 {
		s.stop() // Run spins: end it, for the test to fail rather than hang
	}
	if s.ghost {
		ghosts := []store.Claim{{UserID: "ghost", Pending: store.Pending{ID: "ghost-1", CampaignID: "now", DueAt: now, ReadyAt: now}}}
		for k := 2; s.whole && k <= limit; k++ {
			ghosts = append(ghosts, store.Claim{UserID: "ghost", Pending: store.Pending{ID: fmt.Sprint("ghost-", k), CampaignID: "now", DueAt: now, ReadyAt: now}})
		}
		return ghosts, nil
	}
	if s.stale == nil {
		other := token + 1
		if other == 0 {
			other = 1
		}
		claims, err := s.Memory.Claim(ctx, ns, now, 100*time.Hour, limit, other)
		if err != nil {
			return nil, err
		}
		s.stale = claims
		if !s.whole {
			s.stale = claims[:1] // short of a batch: a Tick claims no more
		}
	}
	return append([]store.Claim(nil), s.stale...), nil
}

func (s *phantomStore) NextDue(context.Context, string) (time.Time, bool, error) {
	return time.Now().Add(-time.Second), true, nil
}

func (s *phantomStore) claimed() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.claims
}

// A store whose Claim hands out deliveries that are not leased to the
// claim (a broken custom store) has every confirmation skip them: Run
// does not claim again and again at once, but pauses longer and longer
// between such Ticks, and says so at Error, once.
func TestRunPausesWhileTheStoreHandsOutUnleasedClaims(t *testing.T) {
	for _, ghost := range []bool{false, true} {
		for _, slots := range []int{1, 4} {
			name := map[bool]string{false: "stale", true: "ghost"}[ghost] + map[int]string{1: " one slot", 4: " four slots"}[slots]
			t.Run(name, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					ctx, cancel := context.WithCancel(context.Background())
					defer cancel()
					s := &phantomStore{Memory: store.NewMemory(), ghost: ghost, stop: cancel}
					var log syncBuffer
					l := &sendLog{}
					e, err := connector.New(s, l, connector.WithSendConcurrency(slots),
						connector.WithLogger(slog.New(slog.NewTextHandler(&log, nil))))
					require.NoError(t, err)
					dueFor(t, e, "u1")
					ran := make(chan error, 1)
					go func() { ran <- e.Run(ctx) }()
					time.Sleep(time.Hour)
					require.NoError(t, ctx.Err(), "Run claimed %d times at one instant", s.claimed())
					claims := s.claimed()
					t.Logf("%d claims in an hour", claims)
					require.Less(t, claims, 100, "claims in an hour")
					require.Empty(t, l.sends())
					cancel()
					require.NoError(t, <-ran)
					require.Equal(t, 1, strings.Count(log.String(), "not leased to this engine's claims"), log.String())
				})
			})
		}
	}
}

// A Tick whose claims come to nothing, batch after full batch (a store
// that hands out deliveries it did not lease to the claim, as above),
// stops claiming once more than a batch in a row came to nothing, rather
// than claim again and again while the store hands out full batches.
func TestTickStopsClaimingWhenItsClaimsComeToNothing(t *testing.T) {
	for _, ghost := range []bool{false, true} {
		for _, c := range []struct{ slots, batch int }{{1, 1}, {1, 4}, {4, 1}, {4, 4}, {3, 8}} {
			name := fmt.Sprintf("%s %d slots batch %d", map[bool]string{false: "stale", true: "ghost"}[ghost], c.slots, c.batch)
			t.Run(name, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					ctx, cancel := context.WithCancel(context.Background())
					defer cancel()
					s := &phantomStore{Memory: store.NewMemory(), ghost: ghost, whole: true, stop: cancel}
					l := &sendLog{}
					e, err := connector.New(s, l, connector.WithSendConcurrency(c.slots), connector.WithBatchSize(c.batch),
						connector.WithLogger(slog.New(slog.DiscardHandler)))
					require.NoError(t, err)
					dueFor(t, e, "u1", "u2", "u3", "u4", "u5", "u6", "u7", "u8")
					n, err := e.Tick(ctx)
					require.NoError(t, ctx.Err(), "Tick claimed %d times", s.claimed())
					require.NoError(t, err)
					require.Zero(t, n)
					require.Empty(t, l.sends())
					// The claims a stop may leave to come to nothing (a
					// batch a lane, three claims a slot) and the batch
					// past them, in batches, and the batch a lane may
					// claim ahead while the other lanes end theirs. The
					// Tick starts no more slots than its first claim holds.
					started := min(c.slots, c.batch)
					lanes := min(started, 4)
					t.Logf("%d claims", s.claimed())
					require.LessOrEqual(t, s.claimed(), (lanes*c.batch+3*started)/c.batch+1+lanes, "claims")
				})
			})
		}
	}
}

// stopRacingStore is a memory store on which a stop removes what the
// first Claim hands out before the engine confirms it.
type stopRacingStore struct {
	*store.Memory
	mu    sync.Mutex
	raced bool
}

func (s *stopRacingStore) Claim(ctx context.Context, ns string, now time.Time, lease time.Duration, limit int, token uint64) ([]store.Claim, error) {
	claims, err := s.Memory.Claim(ctx, ns, now, lease, limit, token)
	s.mu.Lock()
	race := !s.raced && len(claims) > 0
	s.raced = s.raced || race
	s.mu.Unlock()
	if race {
		for _, c := range claims {
			err := s.Memory.Update(ctx, ns, c.UserID, now, store.Dedup{}, func(u *store.UserState, _ bool) {
				if i := u.Find(c.Pending.ID); i >= 0 {
					u.RemovePending(i)
				}
			})
			if err != nil {
				return nil, err
			}
		}
	}
	return claims, err
}

// A Tick whose claims a stop removed before their confirmation is not a
// broken store: the next delivery goes out at its due time.
func TestRunSendsOnTimeAfterAStopRacedItsClaim(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &stopRacingStore{Memory: store.NewMemory()}
		l := &sendLog{}
		e, err := connector.New(s, l, connector.WithSendConcurrency(1), connector.WithLogger(slog.New(slog.DiscardHandler)))
		require.NoError(t, err)
		dueFor(t, e)
		ctx := context.Background()
		require.NoError(t, e.Save(ctx, rule.Campaign{ID: "later", Triggers: []rule.Trigger{{Kind: event.PushOpened, CampaignID: "o"}},
			Delay: rule.After(10 * time.Minute)}))
		require.NoError(t, e.Publish(ctx, "later"))
		start := time.Now()
		require.NoError(t, e.Track(ctx, event.Event{UserID: "u1", Kind: event.PushOpened, CampaignID: "o"}))
		runCtx, cancel := context.WithCancel(ctx)
		defer cancel()
		ran := make(chan error, 1)
		go func() { ran <- e.Run(runCtx) }()
		synctest.Wait()
		// The first claim's deliveries were removed: nothing went out.
		require.Empty(t, l.sends())
		time.Sleep(10*time.Minute - time.Nanosecond)
		synctest.Wait()
		require.Empty(t, l.sends())
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		require.Len(t, l.sends(), 1)
		require.Equal(t, "later", l.sends()[0].CampaignID)
		require.Equal(t, 10*time.Minute, time.Since(start))
		cancel()
		require.NoError(t, <-ran)
	})
}

// One batch in a row that comes to nothing is no fault (a stop removed
// its deliveries between the claim and the confirmation): the Tick
// claims on and sends the rest.
func TestTickClaimsOnAfterABatchThatCameToNothing(t *testing.T) {
	for _, c := range []struct{ slots, batch int }{{1, 1}, {1, 2}, {4, 1}, {4, 2}} {
		t.Run(fmt.Sprintf("%d slots batch %d", c.slots, c.batch), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := &stopRacingStore{Memory: store.NewMemory()}
				l := &sendLog{}
				e, err := connector.New(s, l, connector.WithSendConcurrency(c.slots), connector.WithBatchSize(c.batch),
					connector.WithLogger(slog.New(slog.DiscardHandler)))
				require.NoError(t, err)
				dueFor(t, e, "u1", "u2", "u3")
				n, err := e.Tick(context.Background())
				require.NoError(t, err)
				// Six due, the first claim's removed.
				require.Equal(t, 6-c.batch, n)
				require.Len(t, l.sends(), 6-c.batch)
			})
		})
	}
}

// stopAtClaimStore stops campaign "x" once its Claim has been called at
// times, after that claim returns: a stop that lands while each of a
// Tick's lanes holds a batch of x's deliveries.
type stopAtClaimStore struct {
	*store.Memory
	e  *connector.Engine
	at int

	mu     sync.Mutex
	claims int
}

func (s *stopAtClaimStore) Claim(ctx context.Context, ns string, now time.Time, lease time.Duration, limit int, token uint64) ([]store.Claim, error) {
	claims, err := s.Memory.Claim(ctx, ns, now, lease, limit, token)
	s.mu.Lock()
	s.claims++
	stop := s.claims == s.at
	s.mu.Unlock()
	if stop {
		if err := s.e.Stop(ctx, "x"); err != nil {
			return nil, err
		}
	}
	return claims, err
}

// A stop that removes what every lane of a Tick holds claimed, a batch
// each, is no fault either: the Tick claims on and sends what else is
// due. The audience re-check of x's deliveries waits a second on the
// directory, so that the stop lands before the first is confirmed.
func TestTickClaimsOnAfterAStopRemovedEveryLanesBatch(t *testing.T) {
	for _, c := range []struct{ slots, batch int }{{3, 8}, {4, 4}, {4, 8}, {8, 8}} {
		t.Run(fmt.Sprintf("%d slots batch %d", c.slots, c.batch), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx := context.Background()
				lanes := min(c.slots, 4)
				s := &stopAtClaimStore{Memory: store.NewMemory(), at: lanes}
				l := &sendLog{}
				e, err := connector.New(s, l, connector.WithSendConcurrency(c.slots), connector.WithBatchSize(c.batch),
					connector.WithDirectory(waitDirectory(func() { time.Sleep(time.Second) })),
					connector.WithLogger(slog.New(slog.DiscardHandler)))
				require.NoError(t, err)
				s.e = e
				for _, camp := range []rule.Campaign{
					{ID: "o"},
					{ID: "x", Triggers: []rule.Trigger{{Kind: event.PushOpened, CampaignID: "o"}}, Audience: "all", RecheckAudience: true},
					{ID: "y", Triggers: []rule.Trigger{{Kind: event.PushOpened, CampaignID: "o"}}, Delay: rule.After(time.Minute)},
				} {
					require.NoError(t, e.Save(ctx, camp))
					require.NoError(t, e.Publish(ctx, camp.ID))
				}
				// x's deliveries fill every lane's first batch; y's are due
				// a minute later.
				users := lanes * c.batch
				for k := range users {
					require.NoError(t, e.Track(ctx, event.Event{UserID: fmt.Sprintf("u%03d", k), Kind: event.PushOpened, CampaignID: "o"}))
				}
				time.Sleep(time.Minute)
				n, err := e.Tick(ctx)
				require.NoError(t, err)
				t.Logf("%d claims", s.claims)
				require.Equal(t, users, n, "y's deliveries, all due")
				for _, d := range l.sends() {
					require.Equal(t, "y", d.CampaignID)
				}
			})
		})
	}
}
