package postgres

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
)

// poolAt returns a pool of 4 connections whose transactions default to
// isolation level.
func poolAt(t *testing.T, level string) *pgxpool.Pool {
	t.Helper()
	internalPool(t) // skips without a server
	cfg, err := pgxpool.ParseConfig(os.Getenv("CAMPAIGNCONNECTOR_POSTGRES_DSN"))
	require.NoError(t, err)
	cfg.MaxConns = 4
	cfg.ConnConfig.RuntimeParams["default_transaction_isolation"] = level
	p, err := pgxpool.NewWithConfig(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(p.Close)
	return p
}

// The store's transactions run at READ COMMITTED whatever isolation level
// the host's pool sets by default: two replicas claiming and updating at
// once under REPEATABLE READ or SERIALIZABLE get no serialization
// failures, and no delivery is handed out twice.
func TestTransactionsIgnoreTheDefaultIsolationLevel(t *testing.T) {
	for _, level := range []string{"repeatable read", "serializable"} {
		t.Run(level, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			replicas := replicasAt(t, level)

			const users = 300
			t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
			schedule := func(user string, k int) func(*store.UserState, bool) {
				return func(u *store.UserState, _ bool) {
					u.Pending = append(u.Pending, &store.Pending{
						ID: fmt.Sprintf("%s-%d", user, k), CampaignID: "reminder", Activation: 1,
						Trigger: event.Event{ID: fmt.Sprintf("ev-%s-%d", user, k), UserID: user, Kind: event.PushReceived, CampaignID: "cart", Time: t0},
						DueAt:   t0, ReadyAt: t0,
					})
				}
			}
			ops := make([]store.Op, users)
			for i := range ops {
				user := fmt.Sprintf("u%03d", i)
				ops[i] = store.Op{UserID: user, Now: t0, Fn: schedule(user, 0)}
			}
			require.NoError(t, replicas[0].UpdateBatch(ctx, "ns", ops))

			var (
				mu       sync.Mutex
				errs     []error
				claimed  = map[string]int{}
				wg       sync.WaitGroup
				updaters sync.WaitGroup
				updated  = make(chan struct{}) // closed once the updaters are done
			)
			fail := func(err error) {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
			// Claimers, three per replica, until three empty claims each once
			// the updaters are done: before, a claim skips the delivery of
			// a user an update holds locked, and comes back empty while it
			// is due.
			for w := range 6 {
				wg.Go(func() {
					for empty := 0; empty < 3; {
						cs, err := replicas[w%2].Claim(ctx, "ns", t0.Add(time.Minute), time.Hour, 7, uint64(w+1))
						if err != nil {
							fail(err)
							if ctx.Err() != nil {
								return
							}
							continue
						}
						select {
						case <-updated:
							if len(cs) == 0 {
								empty++
							}
						default:
						}
						mu.Lock()
						for _, c := range cs {
							claimed[c.Pending.ID]++
						}
						mu.Unlock()
					}
				})
			}
			for w := range 2 { // updaters: each user gets a second delivery, due later
				updaters.Go(func() {
					for i := w; i < users; i += 2 {
						user := fmt.Sprintf("u%03d", i)
						if err := replicas[w].Update(ctx, "ns", user, t0, store.Dedup{}, func(u *store.UserState, d bool) {
							schedule(user, 1)(u, d)
							u.Pending[len(u.Pending)-1].DueAt = t0.Add(time.Hour)
							u.Pending[len(u.Pending)-1].ReadyAt = t0.Add(time.Hour)
						}); err != nil {
							fail(err)
						}
					}
				})
			}
			updaters.Wait()
			close(updated)
			wg.Wait()
			require.Empty(t, errs)
			require.Len(t, claimed, users, "every due delivery claimed")
			for id, n := range claimed {
				require.Equal(t, 1, n, "delivery %s handed out %d times", id, n)
			}
		})
	}
}

// Takes on one key from two replicas at once, under REPEATABLE READ or
// SERIALIZABLE by default, all succeed or are refused: exactly the limit
// are granted, and none fails.
func TestTakeUnderTheDefaultIsolationLevel(t *testing.T) {
	for _, level := range []string{"repeatable read", "serializable"} {
		t.Run(level, func(t *testing.T) {
			ctx := context.Background()
			replicas := replicasAt(t, level)
			const limit, tries = 100, 240
			t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
			var (
				mu      sync.Mutex
				granted int
				errs    []error
				wg      sync.WaitGroup
			)
			for w := range 8 {
				wg.Go(func() {
					for range tries / 8 {
						ok, err := replicas[w%2].Take(ctx, "ns", "cap", limit, t0, t0.Add(time.Hour))
						mu.Lock()
						if err != nil {
							errs = append(errs, err)
						} else if ok {
							granted++
						}
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			require.Empty(t, errs)
			require.Equal(t, limit, granted)
		})
	}
}

// replicasAt opens two stores on one schema, each with a pool whose
// transactions default to isolation level.
func replicasAt(t *testing.T, level string) [2]*Store {
	t.Helper()
	p1, p2 := poolAt(t, level), poolAt(t, level)
	schema := internalSchema(t, p1)
	var replicas [2]*Store
	for i, p := range []*pgxpool.Pool{p1, p2} {
		s, err := New(context.Background(), p, WithSchema(schema))
		require.NoError(t, err)
		t.Cleanup(s.Close)
		replicas[i] = s
	}
	return replicas
}

// Two replicas pruning the same expired event IDs, interactions and
// counters at once, and adding to the same tally, under REPEATABLE READ
// or SERIALIZABLE by default: no call fails, and every count arrives.
func TestPruneAndTalliesUnderTheDefaultIsolationLevel(t *testing.T) {
	for _, level := range []string{"repeatable read", "serializable"} {
		t.Run(level, func(t *testing.T) {
			ctx := context.Background()
			r := replicasAt(t, level)
			t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
			var (
				mu   sync.Mutex
				errs []error
				wg   sync.WaitGroup
			)
			fail := func(err error) {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
			for round := range 4 {
				ops := make([]store.Op, 2000)
				for i := range ops {
					ops[i] = store.Op{UserID: fmt.Sprintf("u%d", i), Now: t0,
						Dedup: store.Dedup{EventID: fmt.Sprintf("e%d-%d", round, i), KeepUntil: t0.Add(time.Minute)},
						Fn:    func(*store.UserState, bool) {}}
				}
				require.NoError(t, r[0].UpdateBatch(ctx, "ns", ops))
				evs := make([]event.Event, 2000)
				for i := range evs {
					evs[i] = event.Event{ID: fmt.Sprint("x", i), UserID: "u", Kind: event.EmailOpened, Time: t0}
				}
				require.NoError(t, r[0].AppendInteractions(ctx, "ns", evs, t0.Add(time.Minute)))
				for i := range 200 {
					_, err := r[0].Take(ctx, "ns", fmt.Sprint("k", i), 5, t0, t0.Add(time.Minute))
					require.NoError(t, err)
				}
				for i := range 2 {
					wg.Go(func() {
						if _, err := r[i].Prune(ctx, "ns", t0.Add(time.Hour), t0.Add(time.Hour)); err != nil {
							fail(err)
						}
					})
				}
				wg.Wait()
			}
			hour := t0.Truncate(time.Hour)
			for w := range 8 {
				wg.Go(func() {
					for range 30 {
						if err := r[w%2].AddTallies(ctx, "ns", []store.Tally{{Hour: hour, CampaignID: "c", Kind: rule.Delivered, Count: 1}}); err != nil {
							fail(err)
						}
					}
				})
			}
			wg.Wait()
			require.Empty(t, errs)
			got, err := r[1].Tallies(ctx, "ns", store.TallyQuery{Since: hour})
			require.NoError(t, err)
			require.Len(t, got, 1)
			require.Equal(t, int64(8*30), got[0].Count)
		})
	}
}

// Replicas opening a new store at once, under REPEATABLE READ or
// SERIALIZABLE by default, apply its migrations once: the one that waited
// for the other's sees them.
func TestOpenUnderTheDefaultIsolationLevel(t *testing.T) {
	for _, level := range []string{"repeatable read", "serializable"} {
		t.Run(level, func(t *testing.T) {
			ctx := context.Background()
			pools := [2]*pgxpool.Pool{poolAt(t, level), poolAt(t, level)}
			for range 4 {
				schema := internalSchema(t, pools[0])
				var (
					wg   sync.WaitGroup
					errs [2]error
				)
				for i, p := range pools {
					wg.Go(func() {
						s, err := New(ctx, p, WithSchema(schema))
						if err == nil {
							s.Close()
						}
						errs[i] = err
					})
				}
				wg.Wait()
				require.NoError(t, errs[0])
				require.NoError(t, errs[1])
			}
		})
	}
}
