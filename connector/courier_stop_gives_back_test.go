package connector_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/store"
)

// TestShutdownGivesBackClaimsDuringALongSend: a replica told to stop (its
// Run's context ends) while one of its sends hangs, ignoring its context,
// gives back at once the deliveries it had claimed and not started, so
// that another replica sends them now rather than a lease later (or a
// lease after the process is killed). The hung send keeps its lease, which
// the stopping replica renews while it lives: the other replica never
// sends it, and every delivery goes once.
func TestShutdownGivesBackClaimsDuringALongSend(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := store.NewMemory()
		var mu sync.Mutex
		sentBy := map[string][]string{}
		hung, answer := make(chan string, 1), make(chan struct{})
		sender := func(name string) connector.Sender {
			return connector.SenderFunc(func(_ context.Context, d connector.Delivery) error {
				mu.Lock()
				sentBy[d.ID] = append(sentBy[d.ID], name)
				first := len(sentBy) == 1
				mu.Unlock()
				if first {
					hung <- d.ID
					<-answer // ignores its context
				}
				return nil
			})
		}
		stopping, err := connector.New(s, sender("stopping"), connector.WithSendConcurrency(1), connector.WithLease(time.Minute))
		require.NoError(t, err)
		other, err := connector.New(s, sender("other"), connector.WithSendConcurrency(4), connector.WithLease(time.Minute))
		require.NoError(t, err)
		users := make([]string, 20)
		for i := range users {
			users[i] = fmt.Sprint("u", i)
		}
		dueFor(t, stopping, users...) // two deliveries each, all claimed in one batch
		ctx, cancel := context.WithCancel(context.Background())
		ran := make(chan error, 1)
		go func() { ran <- stopping.Run(ctx) }()
		id := <-hung
		cancel() // SIGTERM
		synctest.Wait()
		n, err := other.Tick(context.Background())
		require.NoError(t, err)
		require.Equal(t, 2*len(users)-1, n, "the other replica sends at once all but the hung send")
		for range 12 { // three leases
			time.Sleep(15 * time.Second)
			n, err := other.Tick(context.Background())
			require.NoError(t, err)
			require.Zero(t, n, "the hung send keeps its lease")
		}
		close(answer)
		require.NoError(t, <-ran)
		mu.Lock()
		defer mu.Unlock()
		require.Equal(t, []string{"stopping"}, sentBy[id])
		require.Len(t, sentBy, 2*len(users))
		for d, by := range sentBy {
			require.Len(t, by, 1, "delivery %s", d)
		}
	})
}
