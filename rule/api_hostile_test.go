package rule_test

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/campaignconnector/campaignconnector/rule"
)

// At with an hour or minute out of range gives a TimeOfDay that
// validation refuses, rather than carrying the minutes over (8:60 was
// 09:00) or wrapping around on overflow into some valid time.
func TestAtOutOfRangeIsInvalid(t *testing.T) {
	for _, hm := range [][2]int{
		{0, 60}, {8, 60}, {1, -30}, {-1, 0}, {24, 0}, {23, 60},
		{math.MaxInt, math.MaxInt}, {math.MinInt, 0}, {0, math.MinInt},
	} {
		if at := rule.At(hm[0], hm[1]); at.Valid() {
			t.Errorf("At(%d, %d) = %v, a valid time of day", hm[0], hm[1], at)
		}
	}
	for h := 0; h < 24; h++ {
		for m := 0; m < 60; m++ {
			if at := rule.At(h, m); !at.Valid() || int(at) != h*60+m {
				t.Fatalf("At(%d, %d) = %d, want %d", h, m, at, h*60+m)
			}
		}
	}
	c := rule.Campaign{ID: "a", SendWindow: &rule.SendWindow{From: rule.At(8, 60), To: rule.At(18, 0)}}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "send_window.from") {
		t.Errorf("a send window from At(8, 60): Validate = %v, want an error naming send_window.from", err)
	}
}

// A TimeOfDay that is not one prints as such, its validation says where
// it comes from, and it does not marshal into text no parse reads back.
func TestAnInvalidTimeOfDaySaysSo(t *testing.T) {
	if got := rule.At(8, 60).String(); got != "TimeOfDay(-1)" {
		t.Errorf("At(8, 60).String() = %q, want TimeOfDay(-1)", got)
	}
	if got := rule.TimeOfDay(1440).String(); got != "TimeOfDay(1440)" {
		t.Errorf("TimeOfDay(1440).String() = %q", got)
	}
	if got := rule.At(23, 59).String(); got != "23:59" {
		t.Errorf("At(23, 59).String() = %q", got)
	}
	c := rule.Campaign{ID: "a", SendWindow: &rule.SendWindow{From: rule.At(8, 60), To: rule.TimeOfDay(1440)}}
	err := c.Validate()
	if err == nil || !strings.Contains(err.Error(), "send_window.from: -1 is not a time of day (At gives it for an hour outside 0–23") ||
		!strings.Contains(err.Error(), "send_window.to: 1440 is not a time of day (0 to 1439 minutes after midnight)") {
		t.Errorf("Validate = %v", err)
	}
	if _, err := json.Marshal(c.SendWindow); err == nil || !strings.Contains(err.Error(), "-1 is not a time of day") {
		t.Errorf("json.Marshal of an invalid window: %v, want an error", err)
	}
}
