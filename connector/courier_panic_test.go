package connector_test

import (
	"context"
	"log/slog"
	"runtime"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// TestTickThatPanicsLeavesNothingAtWork: a Tick whose one send slot runs
// on its own goroutine (one delivery due, or one slot) and unwinds it (an
// observer's panic, which a host's recover catches, as net/http's server
// does for a handler that calls Tick; a sender that ends its goroutine,
// as t.FailNow does in a test) leaves no goroutine at work on what the
// Tick used: the lease keeper stops, rather than renew leases for ever
// (or, on a courier handed to the next Tick, its leases), and the next
// Ticks send what is due, the unrecorded send again after its lease, as
// after a crash.
func TestTickThatPanicsLeavesNothingAtWork(t *testing.T) {
	const lease = time.Minute
	for _, tc := range []struct {
		name  string
		again int // the sends of the Tick after the lease
		opts  func(once *atomic.Bool) (connector.Sender, []connector.Option)
	}{
		{"observer panics", 1, func(once *atomic.Bool) (connector.Sender, []connector.Option) {
			return connector.SenderFunc(func(context.Context, connector.Delivery) error { return nil }),
				[]connector.Option{connector.WithObserver(connector.ObserverFunc(func(d rule.Decision) {
					if d.Kind == rule.Delivered && once.CompareAndSwap(false, true) {
						panic("observer")
					}
				}))}
		}},
		{"sender ends its goroutine", 2, func(once *atomic.Bool) (connector.Sender, []connector.Option) {
			return connector.SenderFunc(func(context.Context, connector.Delivery) error {
				if once.CompareAndSwap(false, true) {
					runtime.Goexit()
				}
				return nil
			}), nil
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var once atomic.Bool
				send, opts := tc.opts(&once)
				e, err := connector.New(store.NewMemory(), send, append(opts, connector.WithSendConcurrency(1),
					connector.WithBatchSize(1), connector.WithLease(lease),
					connector.WithLogger(slog.New(slog.DiscardHandler)))...)
				require.NoError(t, err)
				dueFor(t, e, "u1") // two deliveries
				ctx, cancel := context.WithCancel(context.Background())
				unwound := make(chan struct{})
				go func() {
					defer close(unwound)
					defer func() { _ = recover() }()
					_, _ = e.Tick(ctx)
					t.Error("the Tick returned")
				}()
				<-unwound
				cancel()
				// Three keeper rounds would have passed: a keeper still at work
				// on a courier put back in the pool meets it emptied.
				time.Sleep(2 * lease)
				synctest.Wait()
				n, err := e.Tick(context.Background())
				require.NoError(t, err)
				require.Equal(t, tc.again, n)
				n, err = e.Tick(context.Background())
				require.NoError(t, err)
				require.Zero(t, n)
			})
		})
	}
}
