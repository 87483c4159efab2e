package simulate_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/simulate"
	"github.com/campaignconnector/campaignconnector/store"
)

// New refuses a start its memory store cannot work at, as Replay refuses
// such a setup, instead of returning a simulator whose every Tick fails:
// the zero time (no start given) and instants outside 1678–2262.
func TestNewRefusesStartOutsideClock(t *testing.T) {
	if _, err := simulate.New(time.Time{}); err == nil || !strings.Contains(err.Error(), "start is required") {
		t.Errorf("New(time.Time{}) = %v, want an error saying the start is required", err)
	}
	for _, start := range []time.Time{
		time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC),
	} {
		if _, err := simulate.New(start); !errors.Is(err, store.ErrTimeRange) {
			t.Errorf("New(%v) = %v, want an error wrapping store.ErrTimeRange", start, err)
		}
	}
	if _, err := simulate.New(time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)); err != nil {
		t.Errorf("New(2026-01-05): %v", err)
	}
}
