package connector_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/store"
)

// TestShutdownAtAnyTimeSendsEachDeliveryOnce: replicas told to stop at
// random times during their sends (of random lengths, with several lanes
// and a second engine ticking meanwhile) give their claims back and
// finish their sends: every delivery goes exactly once.
func TestShutdownAtAnyTimeSendsEachDeliveryOnce(t *testing.T) {
	for seed := range uint64(30) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rnd := rand.New(rand.NewPCG(seed, seed))
				var mu sync.Mutex
				sent := map[string]int{}
				waits := make([]time.Duration, 400)
				for i := range waits {
					waits[i] = time.Duration(rnd.IntN(3000)) * time.Millisecond
				}
				var n int
				sender := connector.SenderFunc(func(ctx context.Context, d connector.Delivery) error {
					mu.Lock()
					sent[d.ID]++
					w := waits[n%len(waits)]
					n++
					mu.Unlock()
					time.Sleep(w)
					return nil
				})
				s := store.NewMemory()
				opts := []connector.Option{connector.WithSendConcurrency(1 + rnd.IntN(8)),
					connector.WithBatchSize(1 + rnd.IntN(10)), connector.WithLease(20 * time.Second)}
				a, err := connector.New(s, sender, opts...)
				require.NoError(t, err)
				b, err := connector.New(s, sender, opts...)
				require.NoError(t, err)
				users := make([]string, 30)
				for i := range users {
					users[i] = fmt.Sprint("u", i)
				}
				dueFor(t, a, users...)
				ctx, cancel := context.WithCancel(context.Background())
				ran := make(chan error, 1)
				go func() { ran <- a.Run(ctx) }()
				time.Sleep(time.Duration(rnd.IntN(4000)) * time.Millisecond)
				cancel()
				ticked := make(chan error, 1)
				go func() { _, err := b.Tick(context.Background()); ticked <- err }()
				require.NoError(t, <-ran)
				require.NoError(t, <-ticked)
				time.Sleep(30 * time.Second) // any lease left runs out
				_, err = b.Tick(context.Background())
				require.NoError(t, err)
				mu.Lock()
				defer mu.Unlock()
				require.Len(t, sent, 2*len(users))
				for id, k := range sent {
					require.Equal(t, 1, k, "delivery %s", id)
				}
			})
		})
	}
}
