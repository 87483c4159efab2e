package dashboard

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// metric is one figure the campaign pages show, counted from the tallies
// of some decision kinds.
type metric struct {
	Key   string // stable name, used in the page's data attributes
	Label string
	Kinds []rule.DecisionKind
	// Stage narrows the suppressions counted: all of them (stageAny), a
	// trigger's on arrival, or a scheduled delivery's when it came due.
	Stage stage
	// Group narrows the conversions counted: all of them (groupAny),
	// those of users sent the follow-up, or those of users held out in
	// its control group.
	Group group
}

// group is whom a conversion is of: a user sent the follow-up, or one
// held out in its control group (the engine tallies those with the reason
// control_group; an engine of an earlier version tallied every conversion
// as one of a user sent it).
type group int

const (
	groupAny group = iota
	groupSent
	groupHeld
)

// stage is where a suppression happened: on a trigger's arrival (nothing
// was scheduled) or when a scheduled delivery came due.
type stage int

const (
	stageAny stage = iota
	stageArrival
	stageDue
)

// counts reports whether m counts the decisions of tally t.
func (m metric) counts(t tally) bool {
	if !slices.Contains(m.Kinds, t.Kind) {
		return false
	}
	if t.Kind == rule.Converted && m.Group != groupAny {
		return (t.Reason == rule.ReasonControlGroup) == (m.Group == groupHeld)
	}
	if t.Kind != rule.Suppressed || m.Stage == stageAny {
		return true
	}
	return whenDue(t) == (m.Stage == stageDue)
}

// whenDue reports whether t counts suppressions of scheduled deliveries
// when they came due: its rule says so, or its reason occurs at no other
// point (a tally without the rule, from an engine that did not mark the
// stage, then falls in the right place all the same; for not_in_audience
// and outside_send_window, which occur at both points, only the rule
// tells).
func whenDue(t tally) bool {
	if t.Kind != rule.Suppressed {
		return false
	}
	switch t.Reason {
	case rule.ReasonQuietHours, rule.ReasonFrequencyCapped, rule.ReasonRateLimited:
		return true
	}
	return t.Rule == store.RuleWhenDue
}

// Triggered counts every trigger that matched: it either scheduled a
// delivery or was suppressed on arrival. A delivery suppressed when it
// came due counted as scheduled already: it falls out after Scheduled.
var (
	mTriggered  = metric{Key: "triggered", Label: "Triggered", Kinds: []rule.DecisionKind{rule.Scheduled, rule.Suppressed}, Stage: stageArrival}
	mScheduled  = metric{Key: "scheduled", Label: "Scheduled", Kinds: []rule.DecisionKind{rule.Scheduled}}
	mCancelled  = metric{Key: "cancelled", Label: "Cancelled", Kinds: []rule.DecisionKind{rule.Cancelled}}
	mSuppressed = metric{Key: "suppressed", Label: "Suppressed", Kinds: []rule.DecisionKind{rule.Suppressed}}
	mSent       = metric{Key: "sent", Label: "Sent", Kinds: []rule.DecisionKind{rule.Delivered}}
	mFailed     = metric{Key: "failed", Label: "Failed", Kinds: []rule.DecisionKind{rule.Failed}}
	mHeldOut    = metric{Key: "held_out", Label: "Held out", Kinds: []rule.DecisionKind{rule.HeldOut}}
	mConverted  = metric{Key: "converted", Label: "Converted", Kinds: []rule.DecisionKind{rule.Converted}, Group: groupSent}
	mRetried    = metric{Key: "retried", Label: "Retried", Kinds: []rule.DecisionKind{rule.Retried}}

	// The conversions of users held out in the control group: Converted
	// counts those of users sent the follow-up.
	mConvertedHeld = metric{Key: "converted_held_out", Label: "Converted, held out", Kinds: []rule.DecisionKind{rule.Converted}, Group: groupHeld}

	// The funnel's: suppressions apart by stage.
	mSuppressedOnArrival = metric{Key: "suppressed_on_arrival", Label: "Suppressed on arrival", Kinds: []rule.DecisionKind{rule.Suppressed}, Stage: stageArrival}
	mSuppressedWhenDue   = metric{Key: "suppressed_when_due", Label: "Suppressed when due", Kinds: []rule.DecisionKind{rule.Suppressed}, Stage: stageDue}
)

// campaignMetrics are the figures of each follow-up, in the order shown.
var campaignMetrics = []metric{mTriggered, mScheduled, mCancelled, mSuppressed, mSent, mFailed, mHeldOut, mConverted, mConvertedHeld}

// funnelMetrics are what a follow-up's funnel reads.
var funnelMetrics = append(slices.Clip(campaignMetrics), mSuppressedOnArrival, mSuppressedWhenDue)

// window is a span of recent time the pages count over, cut into buckets
// for its charts.
type window struct {
	Key    string // the value of the range parameter, or of the day's
	Label  string
	Span   time.Duration
	Bucket time.Duration
	// Start is the first hour of a calendar day's window, which does not
	// move with now (calendar); rolling windows have neither.
	Start    time.Time
	calendar bool
}

var (
	lastDay   = window{Key: "24h", Label: "last 24 h", Span: 24 * time.Hour, Bucket: time.Hour}
	lastWeek  = window{Key: "7d", Label: "last 7 days", Span: 7 * 24 * time.Hour, Bucket: 6 * time.Hour}
	lastMonth = window{Key: "30d", Label: "last 30 days", Span: 30 * 24 * time.Hour, Bucket: 24 * time.Hour}
)

// windows are the spans the campaign page offers; the campaigns page
// shows the first two.
var windows = []window{lastDay, lastWeek, lastMonth}

func windowByKey(key string) (window, bool) {
	for _, w := range windows {
		if w.Key == key {
			return w, true
		}
	}
	return window{}, false
}

// bounds returns the hours w covers at now: a rolling window ends with
// the hour now is in, so the latest decisions count; a calendar day's are
// its own, whatever now.
func (w window) bounds(now time.Time) (since, until time.Time) {
	if w.calendar {
		return w.Start, w.Start.Add(w.Span)
	}
	until = now.UTC().Truncate(time.Hour).Add(time.Hour)
	return until.Add(-w.Span), until
}

// Param is the query parameter that names w: range, or day for a
// calendar day.
func (w window) Param() string {
	if w.calendar {
		return paramDay
	}
	return "range"
}

// Unit says what one bar of w's charts counts.
func (w window) Unit() string {
	switch w.Bucket {
	case time.Hour:
		return "per hour"
	case 24 * time.Hour:
		return "per day"
	}
	return fmt.Sprintf("per %d hours", int(w.Bucket.Hours()))
}

// series is a count per bucket of equal length from Start, counted up to
// Now: the bucket Now falls in is still filling (see partial).
type series struct {
	Start  time.Time
	Bucket time.Duration
	Counts []int64
	Now    time.Time
}

func newSeries(w window, since, now time.Time) series {
	return series{Start: since, Bucket: w.Bucket, Counts: make([]int64, int(w.Span/w.Bucket)), Now: now}
}

// partial reports whether bucket i of s was not over when it was counted:
// it holds Now, so its count is only what happened so far.
func (s series) partial(i int) bool {
	from := s.Start.Add(s.Bucket * time.Duration(i))
	return !s.Now.IsZero() && !s.Now.Before(from) && s.Now.Before(from.Add(s.Bucket))
}

// add counts n at time t, if t falls in the series.
func (s *series) add(t time.Time, n int64) {
	if t.Before(s.Start) {
		return
	}
	if i := int(t.Sub(s.Start) / s.Bucket); i < len(s.Counts) {
		s.Counts[i] += n
	}
}

// Total sums the series.
func (s series) Total() int64 {
	var n int64
	for _, c := range s.Counts {
		n += c
	}
	return n
}

// Max is the largest bucket.
func (s series) Max() int64 {
	var m int64
	for _, c := range s.Counts {
		m = max(m, c)
	}
	return m
}

// part is one line of a breakdown: why a number of decisions fell out.
type part struct {
	Label string
	Count int64
}

// figure is one metric of one campaign over one window.
type figure struct {
	Metric    metric
	Series    series
	Breakdown []part // largest first; empty for metrics without reasons
}

// Total is the figure's count over its window.
func (f figure) Total() int64 { return f.Series.Total() }

// summary is every metric of one campaign over one window.
type summary struct {
	Window  window
	Figures []figure
}

// Figure returns the figure of the metric named key.
func (s summary) Figure(key string) figure {
	for _, f := range s.Figures {
		if f.Metric.Key == key {
			return f
		}
	}
	return figure{}
}

// summarize counts ts (one campaign's tallies) per metric over w at now;
// a is the campaign's actions, which say its exceptions in the breakdown.
func summarize(ts []tally, metrics []metric, w window, now time.Time, a actions) summary {
	since, until := w.bounds(now)
	s := summary{Window: w, Figures: make([]figure, len(metrics))}
	for i, m := range metrics {
		f := figure{Metric: m, Series: newSeries(w, since, now)}
		parts := map[string]int64{}
		for _, t := range ts {
			if t.Hour.Before(since) || !t.Hour.Before(until) || !m.counts(t) {
				continue
			}
			f.Series.add(t.Hour, t.Count)
			if label := why(t, a); label != "" && len(m.Kinds) == 1 {
				parts[label] += t.Count
			}
		}
		f.Breakdown = sortedParts(parts)
		s.Figures[i] = f
	}
	return s
}

// why says in words why decisions of t's kind were taken, or "" when the
// kind needs no reason (a scheduling, a send, a conversion, whose reason
// says whom it is of); a is the campaign's actions.
func why(t tally, a actions) string {
	switch {
	case t.Kind == rule.Cancelled && t.Reason == rule.ReasonException && t.Rule != "":
		return exceptionWords(t.Rule, a)
	case t.Reason == "" || t.Kind == rule.Scheduled || t.Kind == rule.Delivered || t.Kind == rule.Converted:
		return ""
	case whenDue(t):
		return reasonWords(t.Reason) + " when due"
	}
	return reasonWords(t.Reason)
}

func sortedParts(m map[string]int64) []part {
	out := make([]part, 0, len(m))
	for label, n := range m {
		out = append(out, part{label, n})
	}
	slices.SortFunc(out, func(a, b part) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), strings.Compare(a.Label, b.Label))
	})
	return out
}

// byCampaign groups tallies by campaign, those of the campaigns of only
// alone when only is not nil.
func byCampaign(ts []tally, only []store.CampaignRecord) map[string][]tally {
	out := map[string][]tally{}
	for _, rec := range only {
		out[rec.Campaign.ID] = nil
	}
	for _, t := range ts {
		if ids, ok := out[t.CampaignID]; ok || only == nil {
			out[t.CampaignID] = append(ids, t)
		}
	}
	return out
}

// kindSeries is one decision kind's counts over a window.
type kindSeries struct {
	Kind   rule.DecisionKind
	Series series
}

// decisionsOverTime returns one series per decision kind present in ts,
// in the order of decisionKinds, for the stacked chart of a campaign.
func decisionsOverTime(ts []tally, w window, now time.Time) []kindSeries {
	since, until := w.bounds(now)
	byKind := map[rule.DecisionKind]*series{}
	for _, t := range ts {
		if t.Hour.Before(since) || !t.Hour.Before(until) {
			continue
		}
		s := byKind[t.Kind]
		if s == nil {
			ns := newSeries(w, since, now)
			s = &ns
			byKind[t.Kind] = s
		}
		s.add(t.Hour, t.Count)
	}
	var out []kindSeries
	for _, k := range kindOrder(byKind) {
		out = append(out, kindSeries{k, *byKind[k]})
	}
	return out
}

// decisionKinds orders the kinds in charts and legends: the way through a
// follow-up first, then what falls out of it.
var decisionKinds = []rule.DecisionKind{
	rule.Scheduled, rule.Delivered, rule.Converted, rule.HeldOut, rule.Deferred,
	rule.Retried, rule.Suppressed, rule.Cancelled, rule.Failed, rule.Duplicate, rule.Warned,
}

func kindOrder[V any](m map[rule.DecisionKind]V) []rule.DecisionKind {
	var out []rule.DecisionKind
	for _, k := range decisionKinds {
		if _, ok := m[k]; ok {
			out = append(out, k)
		}
	}
	var rest []rule.DecisionKind
	for k := range m {
		if !slices.Contains(decisionKinds, k) {
			rest = append(rest, k)
		}
	}
	slices.Sort(rest)
	return append(out, rest...)
}
