package main

import (
	"strings"
	"testing"
	"time"
)

// TestALongerDelayDropsANoteThatNoLongerHolds runs the script with a
// Delay of 9 days: cleo's open on day 8 then comes while she waits and
// cancels her resend, so the note saying her open cancels nothing, which
// holds at 7 days, must not follow it.
func TestALongerDelayDropsANoteThatNoLongerHolds(t *testing.T) {
	var out strings.Builder
	runWith(&out, 9*24*time.Hour)
	got := out.String()
	for _, want := range []string{
		"Resend the newsletter to non-openers after 9 days",
		"Tue 13 Jan 09:00      × resend cancelled for cleo: exception",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("want %q in\n%s", want, got)
		}
	}
	if strings.Contains(got, "no decision") {
		t.Errorf("a note says cleo's open left no decision, under the decision it left:\n%s", got)
	}
}
