package lifecyclekill

import (
	"testing"

	"github.com/campaignconnector/campaignconnector/store"
)

// The child's counting store passes on store.BatchCanceller, which both
// durable stores implement: a stop in the child cancels in batches, as
// it does on the store itself, and each batch counts as a write, a point
// to kill the child at.
func TestTheChildsStoreCancelsInBatches(t *testing.T) {
	var said []string
	bs := &blockingStore{Durable: store.NewMemory(), say: func(w ...string) { said = append(said, w...) }}
	var s store.Store = bs
	bc, ok := s.(store.BatchCanceller)
	if !ok {
		t.Fatal("the child's store hides store.BatchCanceller")
	}
	bs.blockAt = 2 // not reached: the call must count one write, not block
	if _, next, err := bc.CancelCampaignBatch(t.Context(), namespace, "f", "", 10); err != nil || next != "" {
		t.Fatalf("next %q, %v", next, err)
	}
	if n := bs.writes.Load(); n != 1 {
		t.Fatalf("%d writes counted, want 1", n)
	}
	if len(said) != 0 {
		t.Fatalf("said %q", said)
	}
}
