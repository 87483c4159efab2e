package clockskew

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/rule"
)

// Result is what one run did, judged by the first engine's clock.
type Result struct {
	Skew  time.Duration
	Sends int    // sender calls
	By    [2]int // sender calls by engine
	// Twice lists the deliveries sent more than once.
	Twice []string
	// Early counts the sends started before their due time; MaxEarly is
	// the earliest, before its due time.
	Early    int
	MaxEarly time.Duration
	// CapBroken counts the emails sent to a user less than the cap's window
	// after another email to the user (or during its send); MinCapGap is
	// the shortest such gap (zero when none broke the cap).
	CapBroken int
	MinCapGap time.Duration
	// RateMax is the most rate-limited sends in one minute.
	RateMax int
	// QuietSends counts the sends during quiet hours; QuietLeft is how
	// long before their end the earliest of them was.
	QuietSends int
	QuietLeft  time.Duration
	// WindowSends counts the sends of the follow-up with a send window
	// outside it; WindowMax is how far the earliest was before it opened.
	WindowSends int
	WindowMax   time.Duration
	// Lost lists the deliveries scheduled that were neither sent nor
	// ended by a decision (dropped, cancelled, failed, held out): lost, or
	// still pending.
	Lost []string
	// Pending is how many deliveries the store holds at the end: the
	// engines run long enough to send all of them.
	Pending int64
	// Errors are the messages the engines logged at Error.
	Errors []string
}

// String is the result as a table row.
func (r Result) String() string {
	return fmt.Sprintf("skew %v: sends %d (%d+%d), twice %d %v, early %d (max %v), cap broken %d (min gap %v), rate max %d/min, "+
		"in quiet hours %d (up to %v before their end), outside window %d (max %v before), lost %d, pending %d, errors %d",
		r.Skew, r.Sends, r.By[0], r.By[1], len(r.Twice), r.Twice, r.Early, r.MaxEarly, r.CapBroken, r.MinCapGap, r.RateMax,
		r.QuietSends, r.QuietLeft, r.WindowSends, r.WindowMax, len(r.Lost), r.Pending, len(r.Errors))
}

// measure runs sc and judges what it did.
func measure(t *testing.T, open Opener, sc scenario, skew time.Duration) Result {
	calls, decs, errs, pending := run(t, open, sc, skew)
	r := Result{Skew: skew, Sends: len(calls), Pending: pending, Errors: errs}
	seen := map[string]int{}
	for _, c := range calls {
		r.By[c.Engine]++
		if seen[c.ID]++; seen[c.ID] == 2 {
			r.Twice = append(r.Twice, c.UserID+"/"+c.CampaignID)
		}
		if c.Start.Before(c.DueAt) {
			r.Early++
			r.MaxEarly = max(r.MaxEarly, c.DueAt.Sub(c.Start))
		}
		if in, into := inDaily(c.Start, quiet.From, quiet.To); in {
			r.QuietSends++
			r.QuietLeft = max(r.QuietLeft, time.Duration(quiet.To-quiet.From)*time.Minute-into)
		}
		if c.CampaignID == "window" {
			if in, _ := inDaily(c.Start, window.From, window.To); !in {
				r.WindowSends++
				opens := time.Date(c.Start.Year(), c.Start.Month(), c.Start.Day(), 0, int(window.From), 0, 0, time.UTC)
				r.WindowMax = max(r.WindowMax, opens.Sub(c.Start))
			}
		}
	}
	// The cap: an email counts from its send's start (it may be in flight)
	// to the cap's window after its end.
	for _, c := range calls {
		if c.Channel != emailCap.Channel {
			continue
		}
		for _, o := range calls {
			if o == c || o.Channel != c.Channel || o.UserID != c.UserID || o.Start.After(c.Start) ||
				o.Start.Equal(c.Start) && o.ID >= c.ID {
				continue
			}
			if gap := c.Start.Sub(o.End); gap < emailCap.Window {
				r.CapBroken++
				if r.MinCapGap == 0 || gap < r.MinCapGap {
					r.MinCapGap = max(gap, time.Nanosecond)
				}
			}
		}
	}
	perMinute := map[time.Time]int{}
	for _, c := range calls {
		if c.CampaignID == "rated" {
			m := c.Start.Truncate(time.Minute)
			perMinute[m]++
			r.RateMax = max(r.RateMax, perMinute[m])
		}
	}
	// Lost: scheduled, never sent, no decision that ended it, not pending.
	ended := map[string]bool{}
	for _, d := range decs {
		switch d.Kind {
		case rule.Delivered, rule.Suppressed, rule.Cancelled, rule.Failed, rule.HeldOut:
			ended[d.DeliveryID] = true
		}
	}
	for _, d := range decs {
		if d.Kind == rule.Scheduled && seen[d.DeliveryID] == 0 && !ended[d.DeliveryID] {
			r.Lost = append(r.Lost, d.UserID+"/"+d.CampaignID)
		}
	}
	slices.Sort(r.Twice)
	return r
}

// inDaily reports whether t (UTC) is in the daily period [from, to), which
// does not span midnight, and how far into it.
func inDaily(t time.Time, from, to rule.TimeOfDay) (bool, time.Duration) {
	day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	f, e := day.Add(time.Duration(from)*time.Minute), day.Add(time.Duration(to)*time.Minute)
	if t.Before(f) || !t.Before(e) {
		return false, 0
	}
	return true, t.Sub(f)
}

// Table formats results as the rows of a table.
func Table(rs []Result) string {
	var b strings.Builder
	for _, r := range rs {
		b.WriteString(r.String())
		b.WriteByte('\n')
	}
	return b.String()
}
