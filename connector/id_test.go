package connector

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
)

func TestDeliveryIDSeparatesFields(t *testing.T) {
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	base := event.Event{ID: "evt-1", UserID: "user-1", Time: at}
	id := deliveryID("ns", "follow_up", &base)
	if len(id) != 16 || strings.Trim(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
		t.Fatalf("ID %q: want 16 characters of URL-safe base64", id)
	}
	if again := deliveryID("ns", "follow_up", &base); again != id {
		t.Fatalf("the same trigger gave %q, then %q", id, again)
	}
	seen := map[string]string{id: "base"}
	variant := func(name, ns, campaign string, ev event.Event) {
		t.Helper()
		got := deliveryID(ns, campaign, &ev)
		if prev, ok := seen[got]; ok {
			t.Errorf("%s and %s share the ID %s", name, prev, got)
		}
		seen[got] = name
	}
	other := base
	other.UserID = "user-2"
	variant("another user", "ns", "follow_up", other)
	other = base
	other.ID = "evt-2"
	variant("another event ID", "ns", "follow_up", other)
	other = base
	other.Time = at.Add(time.Nanosecond)
	variant("a nanosecond later", "ns", "follow_up", other)
	variant("another namespace", "ns2", "follow_up", base)
	variant("another follow-up", "ns", "follow_up2", base)
	// Moving bytes across field boundaries changes the ID.
	variant("namespace's last byte moved to the follow-up", "n", "sfollow_up", base)
	other = base
	other.UserID, other.ID = "user-1evt-1", ""
	variant("event ID moved into the user ID", "ns", "follow_up", other)
	// Fields of eight bytes and more, differing in one byte of a full word
	// or of the tail.
	long := base
	long.UserID = "0123456789abcdefXYZ"
	variant("long user ID", "ns", "follow_up", long)
	for _, u := range []string{"0123456789abcdeFXYZ", "0123456789abcdefXYz", "0123456789abcdefXYZ\x00"} {
		long.UserID = u
		variant("long user ID "+u, "ns", "follow_up", long)
	}
}

func BenchmarkDeliveryID(b *testing.B) {
	ev := event.Event{ID: "evt-123456", UserID: "user-123456", Time: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	b.ReportAllocs()
	for b.Loop() {
		_ = deliveryID("", "cart_reminder", &ev)
	}
}

// TestEncodeIDMatchesLoop checks the written-out encoder against the loop
// it replaced (delivery IDs must not change between versions).
func TestEncodeIDMatchesLoop(t *testing.T) {
	loop := func(a, b uint64) [16]byte {
		var buf [16]byte
		for i := range 10 {
			buf[i] = idDigits[a>>(6*i)&63]
		}
		for i := range 6 {
			buf[10+i] = idDigits[b>>(6*i)&63]
		}
		return buf
	}
	r := rand.New(rand.NewPCG(3, 4))
	for range 10_000 {
		a, b := r.Uint64(), r.Uint64()
		if got, want := encodeID(a, b), loop(a, b); got != want {
			t.Fatalf("encodeID(%#x, %#x) = %q, want %q", a, b, got[:], want[:])
		}
	}
}
