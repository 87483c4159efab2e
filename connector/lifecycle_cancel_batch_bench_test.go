package connector_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/store"
)

// heapPeek is a memory store that reads the heap after each cancellation
// call, for the peak of what a stop holds: the claims a call returns are
// alive then.
type heapPeek struct {
	*store.Memory
	peak uint64
}

func (s *heapPeek) look() {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	s.peak = max(s.peak, ms.HeapAlloc)
}

func (s *heapPeek) CancelCampaign(ctx context.Context, ns, id string) ([]store.Claim, error) {
	removed, err := s.Memory.CancelCampaign(ctx, ns, id)
	s.look()
	return removed, err
}

func (s *heapPeek) CancelCampaignBatch(ctx context.Context, ns, id, cursor string, limit int) ([]store.Claim, string, error) {
	removed, next, err := s.Memory.CancelCampaignBatch(ctx, ns, id, cursor, limit)
	s.look()
	return removed, next, err
}

// heapPeekWhole is heapPeek without store.BatchCanceller: the stop calls
// CancelCampaign.
type heapPeekWhole struct {
	*heapPeek
	CancelCampaignBatch struct{}
}

// BenchmarkStopBacklog stops a follow-up with 100,000 pending deliveries
// (one per user), with the store's BatchCanceller and without it. The
// setup's allocations are left out; peak-heap-B is how far the heap grew
// above its size before the stop, read after each cancellation call.
func BenchmarkStopBacklog(b *testing.B) {
	const n = 100_000
	for _, batched := range []bool{true, false} {
		name := "batch"
		if !batched {
			name = "whole"
		}
		b.Run(fmt.Sprintf("%s/pending=%d", name, n), func(b *testing.B) {
			ctx := context.Background()
			b.ReportAllocs()
			var grew uint64
			for range b.N {
				b.StopTimer()
				peek := &heapPeek{Memory: store.NewMemory()}
				var s store.Store = peek
				if !batched {
					s = heapPeekWhole{heapPeek: peek}
				}
				clk := applyClock()
				e, err := connector.New(s, noop, connector.WithClock(clk))
				if err != nil {
					b.Fatal(err)
				}
				if err := e.Apply(ctx, resendCampaigns); err != nil {
					b.Fatal(err)
				}
				evs := make([]event.Event, 0, 1000)
				for i := range n {
					u := fmt.Sprintf("user%06d", i)
					evs = append(evs, event.Event{ID: "r-" + u, UserID: u, Kind: event.EmailReceived, CampaignID: "newsletter", Time: clk.Now()})
					if len(evs) == cap(evs) {
						if err := e.TrackAll(ctx, evs); err != nil {
							b.Fatal(err)
						}
						evs = evs[:0]
					}
				}
				evs = nil
				runtime.GC()
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				base := ms.HeapAlloc
				b.StartTimer()
				if err := e.Stop(ctx, "resend"); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if peek.peak > base {
					grew += peek.peak - base
				}
				if st, _ := peek.Stats(ctx, ""); st.Pending != 0 {
					b.Fatalf("%d left pending", st.Pending)
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(grew)/float64(b.N), "peak-heap-B")
		})
	}
}
