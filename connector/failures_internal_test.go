package connector

import (
	"strings"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/rule"
)

// The list costs a send that goes through a look at its decisions' kinds:
// no allocation, no lock, nothing kept.
func TestRecentFailuresCostNothingOnSuccess(t *testing.T) {
	var r recentFailures
	delivered := []rule.Decision{{Kind: rule.Delivered, UserID: "ann", CampaignID: "f", Attempt: 1, At: time.Unix(0, 0)}}
	for _, ds := range [][]rule.Decision{nil, delivered} { // nothing observes; an observer
		if n := testing.AllocsPerRun(100, func() { r.note(ds, "ns") }); n != 0 {
			t.Fatalf("%d allocations per success", int(n))
		}
	}
	if r.ring != nil || r.list() != nil {
		t.Fatalf("a success was kept: %v", r.ring)
	}
}

func TestRecentFailuresRingOrder(t *testing.T) {
	var r recentFailures
	for i := range recentFailuresMax + 7 {
		r.note([]rule.Decision{{Kind: rule.Failed, Attempt: i}, {Kind: rule.Delivered}}, "ns")
	}
	got := r.list()
	if len(got) != recentFailuresMax {
		t.Fatalf("%d kept, want %d", len(got), recentFailuresMax)
	}
	for i, d := range got {
		if want := recentFailuresMax + 6 - i; d.Attempt != want || d.Namespace != "ns" {
			t.Fatalf("%d: attempt %d in %q, want %d in ns", i, d.Attempt, d.Namespace, want)
		}
	}
}

func TestClipDetail(t *testing.T) {
	short := strings.Repeat("x", failureDetailMax)
	if got := clipDetail(short); got != short {
		t.Fatalf("a detail of %d bytes was clipped", len(short))
	}
	head := failureDetailMax - failureDetailTail
	long := strings.Repeat("x", head-1) + "€€" + strings.Repeat("y", 2000) + "€" + strings.Repeat("z", failureDetailTail-2)
	got := clipDetail(long) // the first cut falls inside the first €, the second inside the last
	want := strings.Repeat("x", head-1) + " … (clipped: 3030 bytes in all) … " + strings.Repeat("z", failureDetailTail-2)
	if got != want {
		t.Fatalf("got %q", got)
	}
}

// TestClipTextAtItsBounds checks that clipText clips a text whatever its
// bounds (a tail of 0, a tail over max, a tail shorter than the last
// character) and its bytes (an end that is not UTF-8), rather than read
// past the text's end.
func TestClipTextAtItsBounds(t *testing.T) {
	for _, c := range []struct {
		s         string
		max, tail int
		end       string
	}{
		{"abcdefgh", 4, 2, "gh"},
		{"abcdefgh", 4, 0, " … "},
		{"abcdefgh", 2, 3, "gh"},
		{"éééééé", 3, 1, " … "},
		{"abc\x80\x80\x80", 2, 2, " … "},
	} {
		got := clipText(c.s, c.max, c.tail)
		if !strings.Contains(got, "(clipped: ") || !strings.HasSuffix(got, c.end) {
			t.Errorf("clipText(%q, %d, %d) = %q, want it clipped, ending %q", c.s, c.max, c.tail, got, c.end)
		}
	}
}
