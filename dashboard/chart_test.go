package dashboard

import (
	"regexp"
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
	a := newSeries(lastDay, since)
	b := newSeries(lastDay, since)
	a.add(since, 30)
	b.add(since, 10)
	b.add(since.Add(23*time.Hour), 5)
	out := string(stackedChart([]kindSeries{{rule.Scheduled, a}, {rule.Cancelled, b}}, lastDay, time.UTC))
	for _, want := range []string{
		">16:00<", ">19:00<", ">13:00<", // every third hour along the day
		">0<", ">10<", ">40<", // ticks of ten up to the tallest stack
		"decisions per hour", "time (UTC)",
		"<title>Scheduled: 30, Tue 03 Mar 16:00–17:00 UTC</title>",
		"<title>Cancelled: 5, Wed 04 Mar 15:00–16:00 UTC</title>",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the chart lacks %q", want)
		}
	}
	if got := strings.Count(out, `class="k-cancelled"`); got != 2 {
		t.Errorf("%d cancelled bars, want 2", got)
	}
	if empty := string(stackedChart(nil, lastDay, time.UTC)); !strings.Contains(empty, "No decision") {
		t.Error("an empty chart does not say so")
	}
}

func TestAxisTimesFitTheirSpan(t *testing.T) {
	at := time.Date(2026, 3, 4, 15, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		span time.Duration
		want string
	}{{24 * time.Hour, "15:00"}, {7 * 24 * time.Hour, "Wed 15:00"}, {30 * 24 * time.Hour, "04 Mar"}} {
		if got := axisTime(at, tc.span, time.UTC); got != tc.want {
			t.Errorf("axisTime over %v = %q, want %q", tc.span, got, tc.want)
		}
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
