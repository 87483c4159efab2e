package dashboard

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
// the window began; conversions count those of users held out in a
// control group too. A trigger suppressed on arrival falls out before
// Scheduled; a delivery suppressed when it came due (quiet hours, a cap,
// an audience re-check) falls out after it.
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
