package dashboard

import (
	"fmt"
	"math"
	"strconv"
)

// funnelStep is one step of a follow-up's funnel over a window: how many
// decisions reached it and what fell out before the next step.
type funnelStep struct {
	Key, Label string
	Count      int64
	// OfPrevious and OfFirst are Count as a percentage of the previous
	// step's and the first step's; -1 when that step counted nothing (or,
	// for OfPrevious, there is none).
	OfPrevious, OfFirst float64
	Lost                []part
}

// funnel returns the steps triggered → scheduled → sent → converted of
// summary s (of funnelMetrics). Counts are of decisions taken in the
// window, so a step can hold users who entered the previous one before
// the window began; Converted counts the conversions of users sent the
// follow-up only (controlGroup counts those of users held out apart). A
// trigger suppressed on arrival falls out before Scheduled; a delivery
// suppressed when it came due (quiet hours, a cap, an audience re-check)
// falls out after it.
func funnel(s summary) []funnelStep {
	prefixed := func(prefix string, ps []part) []part {
		out := make([]part, len(ps))
		for i, p := range ps {
			out[i] = part{prefix + p.Label, p.Count}
		}
		return out
	}
	var afterScheduled []part
	afterScheduled = append(afterScheduled, prefixed("cancelled: ", s.Figure(mCancelled.Key).Breakdown)...)
	if n := s.Figure(mHeldOut.Key).Total(); n > 0 {
		afterScheduled = append(afterScheduled, part{"held out in the control group", n})
	}
	afterScheduled = append(afterScheduled, prefixed("suppressed: ", s.Figure(mSuppressedWhenDue.Key).Breakdown)...)
	afterScheduled = append(afterScheduled, prefixed("failed: ", s.Figure(mFailed.Key).Breakdown)...)
	steps := []funnelStep{
		{Key: mTriggered.Key, Label: "Triggered", Lost: prefixed("suppressed: ", s.Figure(mSuppressedOnArrival.Key).Breakdown)},
		{Key: mScheduled.Key, Label: "Scheduled", Lost: afterScheduled},
		{Key: mSent.Key, Label: "Sent"},
		{Key: mConverted.Key, Label: "Converted"},
	}
	for i := range steps {
		steps[i].Count = s.Figure(steps[i].Key).Total()
		steps[i].OfFirst = percent(steps[i].Count, steps[0].Count)
		steps[i].OfPrevious = -1
		if i > 0 {
			steps[i].OfPrevious = percent(steps[i].Count, steps[i-1].Count)
		}
	}
	return steps
}

func percent(n, of int64) float64 {
	if of == 0 {
		return -1
	}
	return 100 * float64(n) / float64(of)
}

// control sets the conversions of a follow-up's users sent it beside
// those of its users held out in its control group, over a window: what
// the control group is for.
type control struct {
	Sent, SentConverted, Held, HeldConverted int64
	// SentRate and HeldRate are the conversions as a percentage of the
	// users sent it and of those held out; -1 when there were none.
	SentRate, HeldRate float64
	// Words says what the two rates mean, in a sentence.
	Words string
}

// controlGroup returns the control group's figures of summary s (of
// funnelMetrics) over its window, or nil when the follow-up held no one
// out in it and holds out no one now (held is its ControlPercent).
func controlGroup(s summary, held int) *control {
	c := &control{
		Sent: s.Figure(mSent.Key).Total(), SentConverted: s.Figure(mConverted.Key).Total(),
		Held: s.Figure(mHeldOut.Key).Total(), HeldConverted: s.Figure(mConvertedHeld.Key).Total(),
	}
	if c.Held == 0 && c.HeldConverted == 0 && held == 0 {
		return nil
	}
	c.SentRate, c.HeldRate = percent(c.SentConverted, c.Sent), percent(c.HeldConverted, c.Held)
	switch in := spanNouns(s.Window).in; {
	case c.Held == 0:
		c.Words = fmt.Sprintf("No user was held out in its control group %s: there is no one to compare the users sent it with.", in)
	case c.Sent == 0:
		c.Words = fmt.Sprintf("It was sent to no one %s: there is no one to compare the users held out with.", in)
	case c.HeldConverted > c.Held: // a rate past 100 % compares nothing
		c.Words = fmt.Sprintf("%d users held out converted %s, more than the %d held out in it: some were held out before it, so the two rates cannot be compared over it.",
			c.HeldConverted, in, c.Held)
	case c.SentConverted > c.Sent:
		c.Words = fmt.Sprintf("%d users sent it converted %s, more than the %d it was sent to in it: some were sent it before it, so the two rates cannot be compared over it.",
			c.SentConverted, in, c.Sent)
	default:
		// The difference of the rates as shown, to the tenth: the
		// sentence agrees with the figures beside it.
		diff := tenths(c.SentRate) - tenths(c.HeldRate)
		than := fmt.Sprintf("%s more with the message than without it", points(diff))
		switch {
		case math.Abs(diff) < 0.05: // the same rates shown
			than = "as many with the message as without it"
		case diff < 0:
			than = fmt.Sprintf("%s fewer with the message than without it", points(-diff))
		}
		c.Words = fmt.Sprintf("Of the users sent it, %s converted; of those held out, who were sent nothing, %s: %s.",
			formatPercent(c.SentRate), formatPercent(c.HeldRate), than)
	}
	return c
}

// points writes a difference of percentages: "4.5 points".
func points(d float64) string { return strconv.FormatFloat(d, 'f', 1, 64) + " points" }

// tenths rounds percentage p as formatPercent shows it.
func tenths(p float64) float64 {
	r, _ := strconv.ParseFloat(strconv.FormatFloat(p, 'f', 1, 64), 64)
	return r
}
