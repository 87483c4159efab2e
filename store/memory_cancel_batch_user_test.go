package store

import (
	"context"
	"fmt"
	"github.com/campaignconnector/campaignconnector/rule"
	"math"
	"testing"
)

// BenchmarkCancelCampaignBatchOneUser cancels 20,000 deliveries of one
// user in batches of 1,000: each call goes through the user's deliveries
// once, not once per delivery it picked.
func BenchmarkCancelCampaignBatchOneUser(b *testing.B) {
	for b.Loop() {
		b.StopTimer()
		m := NewMemory()
		addPending(b, m, "u", "resend", "d", 1, 20_000)
		b.StartTimer()
		for cursor := ""; ; {
			_, next, err := m.CancelCampaignBatch(context.Background(), "", "resend", cursor, 1000)
			if err != nil {
				b.Fatal(err)
			}
			if next == "" {
				break
			}
			cursor = next
		}
	}
}

// A user with more deliveries of the campaign than a call's limit has
// them removed a limit at a time, those of a later activation, whose IDs
// come between, left.
func TestCancelCampaignBatchWalksWithinOneUser(t *testing.T) {
	m := NewMemory()
	addPending(t, m, "u", "resend", "d", 1, 3000)
	addPending(t, m, "u", "resend", "d-1x", 2, 50) // IDs among d-1…
	_, err := m.UpdateCampaign(context.Background(), "", "resend", func(rec *CampaignRecord, _ bool) error {
		rec.Campaign.ID, rec.State, rec.Activation = "resend", rule.Stopped, 1
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got, calls := drainBatches(t, m, "resend", 7, nil)
	if len(got) != 3000 || calls < 3050/7 {
		t.Fatalf("removed %d in %d calls, want 3,000 in %d at least", len(got), calls, 3050/7)
	}
	for i := range 3000 {
		if !got[fmt.Sprintf("u/d-%d", i)] {
			t.Fatalf("u/d-%d left", i)
		}
	}
	if n, _ := m.CampaignPendingCount(context.Background(), "", "resend", math.MaxInt64); n != 50 {
		t.Fatalf("%d left, want the 50 of activation 2", n)
	}
}
