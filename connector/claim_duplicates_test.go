package connector_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/store"
)

// doublingStore is a memory store whose Claim returns each delivery it
// leased twice, as a store whose query joins a row twice may.
type doublingStore struct{ *store.Memory }

func (s doublingStore) Claim(ctx context.Context, ns string, now time.Time, lease time.Duration, limit int, token uint64) ([]store.Claim, error) {
	claims, err := s.Memory.Claim(ctx, ns, now, lease, limit, token)
	return append(claims, claims...), err
}

// A claim that returns a delivery twice has it sent once, whatever the
// number of send slots.
func TestAClaimReturningADeliveryTwiceSendsItOnce(t *testing.T) {
	for _, slots := range []int{1, 2, 8} {
		t.Run(fmt.Sprint(slots, " slots"), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l := &sendLog{}
				e, err := connector.New(doublingStore{store.NewMemory()}, l, connector.WithSendConcurrency(slots),
					connector.WithLogger(slog.New(slog.DiscardHandler)))
				require.NoError(t, err)
				dueFor(t, e, "u1", "u2", "u3", "u4")
				_, err = e.Tick(context.Background())
				require.NoError(t, err)
				seen := map[string]int{}
				for _, d := range l.sends() {
					seen[d.ID]++
				}
				require.Len(t, seen, 8)
				for id, n := range seen {
					require.Equal(t, 1, n, "sends of %s", id)
				}
			})
		})
	}
}

// skewedDoublingStore is a memory store whose Claim returns each delivery
// it leased twice, the second copy due shift later: a store whose query
// joins a stale copy of a row to the fresh one.
type skewedDoublingStore struct {
	*store.Memory
	shift time.Duration
}

func (s skewedDoublingStore) Claim(ctx context.Context, ns string, now time.Time, lease time.Duration, limit int, token uint64) ([]store.Claim, error) {
	claims, err := s.Memory.Claim(ctx, ns, now, lease, limit, token)
	for _, c := range claims[:len(claims):len(claims)] {
		c.Pending.DueAt = c.Pending.DueAt.Add(s.shift)
		claims = append(claims, c)
	}
	return claims, err
}

// The copies of a delivery a claim returns twice are sent once also when
// they differ in due time, so that other claims come between them in due
// order: while one slot sends the first copy, the other slot's turn comes
// to the second.
func TestAClaimReturningADeliveryTwiceDueApartSendsItOnce(t *testing.T) {
	for _, shift := range []time.Duration{time.Hour, -time.Nanosecond} {
		t.Run(fmt.Sprint(shift), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				release := make(chan struct{})
				var first atomic.Bool
				l := &sendLog{during: func() {
					if first.CompareAndSwap(false, true) {
						<-release
					}
				}}
				e, err := connector.New(skewedDoublingStore{store.NewMemory(), shift}, l, connector.WithSendConcurrency(2),
					connector.WithLogger(slog.New(slog.DiscardHandler)))
				require.NoError(t, err)
				dueFor(t, e, "u1", "u2", "u3", "u4")
				done := make(chan error, 1)
				go func() {
					_, err := e.Tick(context.Background())
					done <- err
				}()
				synctest.Wait() // the other slot goes through the rest of the batch
				close(release)
				require.NoError(t, <-done)
				seen := map[string]int{}
				for _, d := range l.sends() {
					seen[d.ID]++
				}
				require.Len(t, seen, 8)
				for id, n := range seen {
					require.Equal(t, 1, n, "sends of %s", id)
				}
			})
		})
	}
}
