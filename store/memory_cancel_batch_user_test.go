package store

import (
	"context"
	"fmt"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"math"
	"slices"
	"testing"
	"time"
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

// Tracking goes on during the calls, for the same users: deliveries of
// other campaigns added and removed (a user's slots move, it goes from
// compact form to whole and back, users leave and come back, tables grow
// and are rebuilt). Each delivery of the campaign there at the start is
// removed once.
func TestCancelCampaignBatchDuringTracking(t *testing.T) {
	m := NewMemory()
	want := map[string]bool{}
	for i := range 400 {
		user := fmt.Sprintf("u%04d", i)
		addPending(t, m, user, "f", "d", 1, 1+i%20)
		for k := range 1 + i%20 {
			want[fmt.Sprintf("%s/d-%d", user, k)] = true
		}
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
		for n := 0; ; n++ {
			select {
			case <-stop:
				return
			default:
			}
			user := fmt.Sprintf("u%04d", n%400)
			if n%3 == 0 {
				user = fmt.Sprintf("w%05d", n)
			}
			err := m.Update(context.Background(), "", user, t0, Dedup{}, func(u *UserState, _ bool) {
				if len(u.Pending) > 20 {
					u.Pending = slices.DeleteFunc(u.Pending, func(p *Pending) bool { return p.CampaignID == "other" })
					return
				}
				for k := range 3 {
					p := u.NewPending()
					*p = Pending{ID: fmt.Sprintf("o-%d-%d", n, k), CampaignID: "other", Activation: 1,
						Trigger: event.Event{ID: "e-" + user, UserID: user, Kind: event.EmailReceived, CampaignID: "orig", Time: t0},
						DueAt:   t0.Add(time.Hour), ReadyAt: t0.Add(time.Hour)}
					u.Pending = append(u.Pending, p)
				}
			})
			if err != nil {
				t.Error(err)
				return
			}
		}
	}()
	got, _ := drainBatches(t, m, "f", 13, nil)
	close(stop)
	<-done
	if len(got) != len(want) {
		t.Fatalf("removed %d, want %d", len(got), len(want))
	}
	for k := range want {
		if !got[k] {
			t.Fatalf("%s not removed", k)
		}
	}
}
