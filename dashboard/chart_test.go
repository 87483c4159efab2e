package dashboard

import (
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/rule"
)

func TestNiceScaleHoldsThePeakInRoundTicks(t *testing.T) {
	for _, tc := range []struct {
		peak int64
		tick int64
		top  float64
	}{
		{0, 1, 1}, {1, 1, 1}, {4, 1, 4}, {5, 1, 5}, {7, 2, 8}, {10, 2, 10}, {11, 5, 15},
		{23, 5, 25}, {99, 20, 100}, {101, 50, 150}, {1234, 500, 1500}, {999_999, 200_000, 1_000_000},
	} {
		tick, top := niceScale(tc.peak)
		if tick != tc.tick || top != tc.top {
			t.Errorf("niceScale(%d) = %d, %v; want %d, %v", tc.peak, tick, top, tc.tick, tc.top)
		}
		if float64(tc.peak) > top || top/float64(tick) > 5 {
			t.Errorf("niceScale(%d): top %v does not hold the peak in five ticks of %d", tc.peak, top, tick)
		}
	}
}

func TestCompactCounts(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 950: "950", 9999: "9999", 12_345: "12k", 3_400_000: "3.4M", 25_000_000: "25M"} {
		if got := compact(n); got != want {
			t.Errorf("compact(%d) = %q, want %q", n, got, want)
		}
	}
}

var rectHeight = regexp.MustCompile(`<rect class="bar" [^>]*height="([0-9.]+)"`)

func TestSparklineDrawsABarPerNonEmptyBucketWithItsAxes(t *testing.T) {
	start := time.Date(2026, 3, 4, 16, 0, 0, 0, time.UTC)
	s := series{Start: start, Bucket: time.Hour, Counts: []int64{0, 4, 2, 0, 8}}
	out := string(sparkline(s, "Sent", "per hour", time.UTC))
	bars := rectHeight.FindAllStringSubmatch(out, -1)
	if len(bars) != 3 {
		t.Fatalf("%d bars, want one per non-empty bucket (3)", len(bars))
	}
	if bars[0][1] != "17.00" || bars[2][1] != "34.00" { // 4 and 8 on a 34-unit axis topped by 8
		t.Errorf("bar heights %s and %s, want 17.00 and 34.00", bars[0][1], bars[2][1])
	}
	for _, want := range []string{">16:00<", ">20:00<", ">8<", ">0<", "Sent per hour", "14 in all", "<title>4, Wed 04 Mar 17:00–18:00 UTC</title>"} {
		if !strings.Contains(out, want) {
			t.Errorf("the sparkline lacks %q", want)
		}
	}
}

func TestStackedChartLabelsTimeAndStacksKinds(t *testing.T) {
	now := time.Date(2026, 3, 4, 15, 20, 0, 0, time.UTC)
	since, _ := lastDay.bounds(now)
	a := newSeries(lastDay, since, now)
	b := newSeries(lastDay, since, now)
	a.add(since, 30)
	b.add(since, 10)
	b.add(since.Add(23*time.Hour), 5)
	out := string(stackedChart([]kindSeries{{rule.Scheduled, a}, {rule.Cancelled, b}}, lastDay, time.UTC))
	for _, want := range []string{
		">16:00<", ">19:00<", ">13:00<", // every third hour along the day
		">0<", ">10<", ">40<", // ticks of ten up to the tallest stack
		"decisions per hour", "time (UTC)",
		"<title>Scheduled: 30, Tue 03 Mar 16:00–17:00 UTC</title>",
		// The last hour holds now (15:20): its count is so far.
		"<title>Cancelled: 5 so far, Wed 04 Mar 15:00–16:00 UTC (not over: counted to Wed 04 Mar 15:20)</title>",
		">Tue 03 Mar<", ">Wed 04 Mar<", // the dates, under the first hour and midnight
		"time (UTC) · last bar so far, counted to Wed 04 Mar 15:20",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the chart lacks %q", want)
		}
	}
	if got := strings.Count(out, `class="k-cancelled"`); got != 2 {
		t.Errorf("%d cancelled bars, want 2", got)
	}
	// A series with no bucket draws as no decision (its time labels
	// stepped by zero, for ever).
	if empty := string(stackedChart([]kindSeries{{rule.Scheduled, series{}}}, lastDay, time.UTC)); !strings.Contains(empty, "No decision") {
		t.Errorf("a series with no bucket: %s", empty)
	}
	if empty := string(stackedChart(nil, lastDay, time.UTC)); !strings.Contains(empty, "No decision") {
		t.Error("an empty chart does not say so")
	}
}

// A week's axis said "Wed 15:00" at both ends, two Wednesdays apart: up
// to a week, a label is the time with its date under it.
func TestAxisTimesFitTheirSpan(t *testing.T) {
	at := time.Date(2026, 3, 4, 15, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		span       time.Duration
		time, date string
	}{{24 * time.Hour, "15:00", "Wed 04 Mar"}, {7 * 24 * time.Hour, "15:00", "Wed 04 Mar"}, {30 * 24 * time.Hour, "04 Mar", ""}} {
		if got := axisTime(at, tc.span, time.UTC); got != tc.time {
			t.Errorf("axisTime over %v = %q, want %q", tc.span, got, tc.time)
		}
		if got := axisDate(at, tc.span, time.UTC); got != tc.date {
			t.Errorf("axisDate over %v = %q, want %q", tc.span, got, tc.date)
		}
	}
}

var tickText = regexp.MustCompile(`<text [^>]*class="tick">([^<]*)</text>`)

// ticks returns the texts of the axis labels of a chart, in order.
func ticks(svg string) []string {
	var out []string
	for _, m := range tickText.FindAllStringSubmatch(svg, -1) {
		out = append(out, m[1])
	}
	return out
}

// A week's chart spans two Wednesdays: every tick has its date under it,
// and none says a bare weekday. The last bucket, which holds now, is
// marked as counted so far.
func TestWeekChartDatesItsTicksAndMarksTheLastBar(t *testing.T) {
	now := fixtureNow // Wed 04 Mar 15:20
	since, _ := lastWeek.bounds(now)
	s := newSeries(lastWeek, since, now)
	s.add(since, 4)
	s.add(now, 2)
	out := string(stackedChart([]kindSeries{{rule.Scheduled, s}}, lastWeek, time.UTC))
	got := strings.Join(ticks(out), "|")
	want := "0|1|2|3|4|" + // the y axis
		"16:00|Wed 25 Feb|16:00|Thu 26 Feb|16:00|Fri 27 Feb|16:00|Sat 28 Feb|16:00|Sun 01 Mar|16:00|Mon 02 Mar|16:00|Tue 03 Mar|16:00|Wed 04 Mar"
	if got != want {
		t.Errorf("ticks\n%s\nwant\n%s", got, want)
	}
	for _, want := range []string{
		"<title>Scheduled: 4, Wed 25 Feb 16:00–22:00 UTC</title>",
		"<title>Scheduled: 2 so far, Wed 04 Mar 10:00–16:00 UTC (not over: counted to Wed 04 Mar 15:20)</title>",
		"time (UTC) · last bar so far, counted to Wed 04 Mar 15:20",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the chart lacks %q", want)
		}
	}
	// The mark is in words alone: the bars are those of a series
	// counted at no particular time.
	s.Now = time.Time{}
	plain := string(stackedChart([]kindSeries{{rule.Scheduled, s}}, lastWeek, time.UTC))
	if a, b := rects.FindAllString(out, -1), rects.FindAllString(plain, -1); !slices.Equal(a, b) || len(a) != 2 {
		t.Errorf("the bars differ with the mark:\n%v\n%v", a, b)
	}
	if strings.Contains(plain, "so far") {
		t.Error("a series counted at no particular time is marked as counted so far")
	}
}

var rects = regexp.MustCompile(`<rect [^>]*>`)

// A week's sparkline said "Wed 16:00" at the left and "Wed 10:00" at the
// right, a week apart; its ends have their dates, and the last bucket,
// which holds now, ends "–now".
func TestWeekSparklineDatesItsEndsAndMarksTheLastBar(t *testing.T) {
	now := fixtureNow
	since, _ := lastWeek.bounds(now)
	s := newSeries(lastWeek, since, now)
	s.add(since, 4)
	s.add(now, 2)
	out := string(sparkline(s, "Sent", "per 6 hours", time.UTC))
	if got, want := strings.Join(ticks(out), "|"), "4|0|25 Feb 16:00|04 Mar 10:00–now"; got != want {
		t.Errorf("ticks %q, want %q", got, want)
	}
	for _, want := range []string{
		"<title>2 so far, Wed 04 Mar 10:00–16:00 UTC (not over: counted to Wed 04 Mar 15:20)</title>",
		"6 in all, counted to Wed 04 Mar 15:20</title>",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the sparkline lacks %q", want)
		}
	}
	s.Now = time.Time{}
	plain := string(sparkline(s, "Sent", "per 6 hours", time.UTC))
	if a, b := rects.FindAllString(out, -1), rects.FindAllString(plain, -1); !slices.Equal(a, b) || len(a) != 2 {
		t.Errorf("the bars differ with the mark:\n%v\n%v", a, b)
	}
	if got, want := strings.Join(ticks(plain), "|"), "4|0|25 Feb 16:00|04 Mar 10:00"; got != want {
		t.Errorf("counted at no particular time: ticks %q, want %q", got, want)
	}
}

// The funnel's bars say their counts as the table under them does, with
// the thousands apart.
func TestFunnelChartSaysCountsAsTheTable(t *testing.T) {
	out := string(funnelChart([]funnelStep{{Key: "triggered", Label: "Triggered", Count: 3340}, {Key: "scheduled", Label: "Scheduled", Count: 2901, OfPrevious: 86.9}}))
	for _, want := range []string{">" + thousands(3340) + "<", ">" + thousands(2901) + "  (86.9 % of triggered)<"} {
		if !strings.Contains(out, want) {
			t.Errorf("the funnel lacks %q:\n%s", want, out)
		}
	}
}

// A chart scales with its box, text and all: each sits in a .scroll box,
// where the stylesheet gives it a least width and a phone scrolls it
// rather than shrink its text (the browser test measures the text).
func TestChartsSitInScrollBoxes(t *testing.T) {
	h := mustHandler(t, populatedFake())
	chart := regexp.MustCompile(`(.{0,40})<svg [^>]*class="(chart|funnel)"`)
	for _, target := range []string{"/campaign?id=resend", "/health"} {
		page := body(t, get(t, h, target), http.StatusOK)
		found := chart.FindAllStringSubmatch(page, -1)
		if len(found) == 0 {
			t.Errorf("%s shows no chart", target)
		}
		for _, m := range found {
			if !strings.HasSuffix(m[1], `<div class="scroll">`) {
				t.Errorf("%s: an svg.%s is not the first thing in a .scroll box, but follows %q", target, m[2], m[1])
			}
		}
	}
}
