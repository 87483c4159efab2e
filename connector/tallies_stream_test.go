package connector_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/stretchr/testify/require"
)

// slowTallier is a memory store whose AddTallies take 4.9 s, honouring ctx.
type slowTallier struct{ *store.Memory }

func (s *slowTallier) AddTallies(ctx context.Context, ns string, ts []store.Tally) error {
	select {
	case <-time.After(4900 * time.Millisecond):
	case <-ctx.Done():
		return ctx.Err()
	}
	return s.Memory.AddTallies(ctx, ns, ts)
}

// TestRunReturnsUnderASteadyStreamOfReads checks that Run's last flush
// gets its turn under a steady load of dashboard reads on a slow store
// (one every 4.9 s, each flush taking 4.9 s, three in line, a decision
// every second): reads that come after it wait for it.
func TestRunReturnsUnderASteadyStreamOfReads(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &slowTallier{Memory: store.NewMemory()}
		e := tallyEngine(t, s, connector.WithClock(clock.New()))
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- e.Run(ctx) }()
		synctest.Wait()
		quit := make(chan struct{})
		var wg sync.WaitGroup
		read := func() { _, _ = e.Tallies(context.Background(), store.TallyQuery{}) }
		wg.Go(func() { // tracker
			for i := 0; ; i++ {
				_ = e.Track(context.Background(), received(fmt.Sprint("u", i)))
				select {
				case <-quit:
					return
				case <-time.After(time.Second):
				}
			}
		})
		time.Sleep(10 * time.Second)
		for range 3 {
			wg.Go(read)
			synctest.Wait()
		}
		wg.Go(func() { // one new reader every 4.9 s
			for {
				select {
				case <-quit:
					return
				case <-time.After(4900 * time.Millisecond):
					wg.Go(read)
				}
			}
		})
		start := time.Now()
		cancel()
		took := time.Duration(-1)
		select {
		case <-done:
			took = time.Since(start)
		case <-time.After(30 * time.Minute):
		}
		close(quit)
		if took < 0 {
			<-done
			t.Logf("Run returned %v after cancel, only once the readers stopped", time.Since(start))
		}
		wg.Wait()
		require.True(t, took >= 0, "Run had not returned 30 min (fake) after its ctx ended")
	})
}
