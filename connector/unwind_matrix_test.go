package connector_test

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// TestHostileUnwindMatrix: a panic at each point of a Tick in turn (the
// store's in each claim or update, each applied in part or not at all,
// with batches and without; an observer's; the instrumentation's; a
// sender's runtime.Goexit; one or from there on), with one slot to many
// and batches of one to many, leaves the engine usable once the host
// recovers it: the next Ticks, after the lease, send every delivery,
// each at most twice (only the send whose record the panic lost goes
// again, one per slot unwound), each Delivered decision told once, and
// nothing is left at work (the bubble ends).
func TestHostileUnwindMatrix(t *testing.T) {
	const lease = time.Minute
	kinds := []string{"claim", "batch", "batch-partial", "update", "update-partial", "observer", "goexit", "startsend", "endsend", "batch-nil", "batch-many", "claim-many", "observer-many", "startsend-many"}
	for _, conc := range []int{1, 2, 8, 256} {
		for _, batch := range []int{1, 16} {
			for _, kind := range kinds {
				for _, plain := range []bool{false, true} {
					for k := int32(1); ; k++ {
						reached := false
						name := fmt.Sprintf("c%d/b%d/%s/plain%v/k%d", conc, batch, kind, plain, k)
						ok := t.Run(name, func(t *testing.T) {
							synctest.Test(t, func(t *testing.T) {
								reached = hostileCase(t, conc, batch, kind, plain, k, lease)
							})
						})
						if !ok || !reached || k > 200 {
							break
						}
					}
				}
			}
		}
	}
}

// hostileCase runs one case of TestHostileUnwindMatrix; reached tells
// whether the armed panic came (k past the Tick's calls: it did not).
func hostileCase(t *testing.T, conc, batch int, kind string, plain bool, k int32, lease time.Duration) (reached bool) {
	h := &hostileStore{Memory: store.NewMemory()}
	switch kind {
	case "batch-partial":
		h.what, h.partial = "batch", true
	case "update-partial":
		h.what, h.partial = "update", true
	case "batch-nil":
		h.what, h.nilp = "batch", true
	case "batch-many", "claim-many", "observer-many", "startsend-many":
		h.what, h.many = kind[:len(kind)-len("-many")], true
	default:
		h.what = kind
	}
	var s store.Store = h
	if plain {
		s = hostilePlain{h}
	}
	var mu sync.Mutex
	sent, delivered := map[string]int{}, map[string]int{}
	var armed atomic.Bool
	send := connector.SenderFunc(func(_ context.Context, d connector.Delivery) error {
		if armed.Load() && kind == "goexit" && h.left.Add(-1) == 0 {
			runtime.Goexit()
		}
		mu.Lock()
		sent[d.ID]++
		mu.Unlock()
		return nil
	})
	e, err := connector.New(s, send, connector.WithSendConcurrency(conc),
		connector.WithBatchSize(batch), connector.WithLease(lease),
		connector.WithLogger(slog.New(slog.DiscardHandler)),
		connector.WithInstrumentation(hostileInstr{h}),
		connector.WithObserver(connector.ObserverFunc(func(d rule.Decision) {
			if d.Kind == rule.Delivered {
				mu.Lock()
				delivered[d.DeliveryID]++
				mu.Unlock()
			}
			if armed.Load() && h.hit("observer") {
				panic("observer")
			}
		})))
	require.NoError(t, err)
	users := make([]string, 12)
	for i := range users {
		users[i] = fmt.Sprintf("u%02d", i)
	}
	dueFor(t, e, users...) // 24 deliveries
	h.left.Store(k)
	armed.Store(true)
	done := make(chan bool)
	go func() {
		returned := false
		defer func() {
			recover()
			done <- returned
		}()
		_, _ = e.Tick(context.Background())
		returned = true
	}()
	unwound := !<-done
	reached = h.left.Load() <= 0
	armed.Store(false)
	h.off.Store(true)
	require.Equal(t, reached, unwound, "the panic came: %v; the Tick unwound: %v", reached, unwound)
	// What the Tick claimed and did not send went back: the next Tick
	// sends it at once. What the unwound slot held (a send not recorded,
	// a confirmation not sent) waits for its lease.
	for {
		n, err := e.Tick(context.Background())
		require.NoError(t, err)
		if n == 0 {
			break
		}
	}
	if st, err := e.Stats(context.Background()); err == nil && !h.many {
		require.LessOrEqual(t, st.Pending, int64(2), "deliveries waiting for their lease")
	}
	time.Sleep(2 * lease)
	synctest.Wait()
	for i := 0; ; i++ {
		require.Less(t, i, 100, "ticks never end")
		n, err := e.Tick(context.Background())
		require.NoError(t, err)
		if n == 0 {
			break
		}
	}
	st, err := e.Stats(context.Background())
	require.NoError(t, err)
	require.Zero(t, st.Pending, "deliveries left unsent")
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, sent, 24)
	dups := 0
	for _, n := range sent {
		dups += n - 1
	}
	// A panic unwinds one slot, which loses the record of at most one
	// send (sent again after its lease); a store that keeps panicking
	// may unwind every slot.
	most := 1
	if h.many {
		most = conc
	}
	require.LessOrEqual(t, dups, most, "sent again: %v", sent)
	for id, n := range delivered {
		require.Equal(t, 1, n, "Delivered decisions of %s", id)
	}
	return reached
}

// TestHostileRunUnwindMatrix: the same under Run, whose host recovers the
// panic and calls Run again: every delivery is sent, at most one again,
// and never more sends at once than the engine has slots.
func TestHostileRunUnwindMatrix(t *testing.T) {
	const lease = time.Minute
	kinds := []string{"claim", "batch", "batch-partial", "update", "update-partial", "observer", "goexit", "startsend", "endsend", "nextdue"}
	for _, conc := range []int{1, 8} {
		for _, batch := range []int{1, 16} {
			for _, kind := range kinds {
				for k := int32(1); ; k++ {
					reached := false
					name := fmt.Sprintf("c%d/b%d/%s/k%d", conc, batch, kind, k)
					ok := t.Run(name, func(t *testing.T) {
						synctest.Test(t, func(t *testing.T) {
							reached = hostileRunCase(t, conc, batch, kind, k, lease)
						})
					})
					if !ok || !reached || k > 200 {
						break
					}
				}
			}
		}
	}
}

// hostileRunCase runs one case of TestHostileRunUnwindMatrix.
func hostileRunCase(t *testing.T, conc, batch int, kind string, k int32, lease time.Duration) (reached bool) {
	h := &hostileStore{Memory: store.NewMemory()}
	switch kind {
	case "batch-partial":
		h.what, h.partial = "batch", true
	case "update-partial":
		h.what, h.partial = "update", true
	default:
		h.what = kind
	}
	var mu sync.Mutex
	sent := map[string]int{}
	inFlight, most := 0, 0
	var armed atomic.Bool
	send := connector.SenderFunc(func(_ context.Context, d connector.Delivery) error {
		mu.Lock()
		inFlight++
		most = max(most, inFlight)
		mu.Unlock()
		time.Sleep(time.Second) // sends overlap
		mu.Lock()
		inFlight--
		mu.Unlock()
		if armed.Load() && kind == "goexit" && h.left.Add(-1) == 0 {
			runtime.Goexit()
		}
		mu.Lock()
		sent[d.ID]++
		mu.Unlock()
		return nil
	})
	e, err := connector.New(h, send, connector.WithSendConcurrency(conc),
		connector.WithBatchSize(batch), connector.WithLease(lease),
		connector.WithLogger(slog.New(slog.DiscardHandler)),
		connector.WithInstrumentation(hostileInstr{h}),
		connector.WithObserver(connector.ObserverFunc(func(d rule.Decision) {
			if armed.Load() && h.hit("observer") {
				panic("observer")
			}
		})))
	require.NoError(t, err)
	users := make([]string, 12)
	for i := range users {
		users[i] = fmt.Sprintf("u%02d", i)
	}
	dueFor(t, e, users...) // 24 deliveries
	h.left.Store(k)
	armed.Store(true)
	ctx, cancel := context.WithCancel(context.Background())
	unwinds := 0
	host := make(chan struct{})
	go func() {
		defer close(host)
		for ctx.Err() == nil {
			done := make(chan struct{})
			go func() {
				defer close(done)
				defer func() { _ = recover() }()
				_ = e.Run(ctx)
			}()
			<-done
			if ctx.Err() == nil {
				unwinds++
			}
		}
	}()
	time.Sleep(lease / 2)
	armed.Store(false)
	h.off.Store(true)
	reached = h.left.Load() <= 0
	time.Sleep(3 * lease)
	synctest.Wait()
	st, err := e.Stats(context.Background())
	require.NoError(t, err)
	require.Zero(t, st.Pending, "deliveries left unsent")
	cancel()
	<-host
	synctest.Wait()
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, sent, 24)
	dups := 0
	for _, n := range sent {
		dups += n - 1
	}
	require.LessOrEqual(t, dups, 1, "sent again: %v", sent)
	require.LessOrEqual(t, unwinds, 1)
	require.LessOrEqual(t, most, conc, "sends in progress at once")
	return reached
}
