package dashboard

import (
	"fmt"
	"html/template"
	"math"
	"strings"
	"time"

	"github.com/campaignconnector/campaignconnector/rule"
)

// The charts are SVG written here, inline in the pages: no script draws
// them and no file is fetched for them. Every text in them is escaped;
// their colours come from classes styled by the embedded stylesheet (the
// Content-Security-Policy allows no inline style).

// svg accumulates an SVG document.
type svg struct{ b strings.Builder }

func (s *svg) printf(format string, args ...any) { fmt.Fprintf(&s.b, format, args...) }

// text writes a text element whose content is escaped.
func (s *svg) text(x, y float64, anchor, class, content string) {
	s.printf(`<text x="%.1f" y="%.1f" text-anchor="%s" class="%s">%s</text>`, x, y, anchor, class, esc(content))
}

// html marks the drawing safe to insert: every text in it went through esc
// and every class through className.
func (s *svg) html() template.HTML { return template.HTML(s.b.String()) }

func esc(s string) string { return template.HTMLEscapeString(s) }

// open starts an SVG of the given size, labelled for screen readers.
func (s *svg) open(w, h int, class, label string) {
	s.printf(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" class="%s" role="img" aria-label="%s"><title>%s</title>`,
		w, h, class, esc(label), esc(label))
}

// sparkline draws a small bar chart of s: a bar per bucket, the y axis
// from 0 to the largest bucket, the x axis labelled with the first and
// last bucket's start, with their dates when s spans more than a day; a
// last bucket still filling ends "–now". title names what it counts.
func sparkline(s series, title, unit string, loc *time.Location) template.HTML {
	const (
		w, h                     = 220, 58
		left, right, top, bottom = 34.0, 214.0, 6.0, 40.0
	)
	var g svg
	n := len(s.Counts)
	label := fmt.Sprintf("%s %s, %s: %d in all", title, unit, spanLabel(s, loc), s.Total())
	if n > 0 && s.partial(n-1) {
		label += ", " + countedTo(s, loc)
	}
	g.open(w, h, "spark", label)
	top2 := s.Max()
	g.text(left-4, top+7, "end", "tick", compact(top2))
	g.text(left-4, bottom, "end", "tick", "0")
	g.printf(`<path class="axis" d="M%.1f %.1fV%.1fH%.1f"/>`, left, top, bottom, right)
	bars(&g, s, left, right, top, bottom, float64(max(top2, 1)), "bar", loc)
	span := s.Bucket * time.Duration(n)
	g.text(left, h-4, "start", "tick", sparkTime(s.Start, span, loc))
	last := sparkTime(s.Start.Add(s.Bucket*time.Duration(n-1)), span, loc)
	if n > 0 && s.partial(n-1) {
		last += "–now"
	}
	g.text(right, h-4, "end", "tick", last)
	g.printf(`</svg>`)
	return g.html()
}

// sparkTime labels an end of a sparkline spanning span: the time of day
// for a day, the date and time beyond, where a weekday would name two
// days of a week's span.
func sparkTime(t time.Time, span time.Duration, loc *time.Location) string {
	if span <= 36*time.Hour {
		return t.In(loc).Format("15:04")
	}
	return t.In(loc).Format("02 Jan 15:04")
}

// countedTo says when s was counted, which the bucket holding it is not
// over at: "counted to Wed 04 Mar 15:20".
func countedTo(s series, loc *time.Location) string {
	return "counted to " + s.Now.In(loc).Format("Mon 02 Jan 15:04")
}

// barTitle is the tooltip of bucket i of s, counting c: its count and
// span, and for a bucket still filling, that the count is so far.
func barTitle(s series, i int, c int64, loc *time.Location) string {
	if s.partial(i) {
		return fmt.Sprintf("%d so far, %s (not over: %s)", c, bucketLabel(s, i, loc), countedTo(s, loc))
	}
	return fmt.Sprintf("%d, %s", c, bucketLabel(s, i, loc))
}

// bars draws one bar per bucket of s between the plot's edges, scaled to
// scale, each with a tooltip.
func bars(g *svg, s series, left, right, top, bottom, scale float64, class string, loc *time.Location) {
	step := (right - left) / float64(len(s.Counts))
	gap := min(1, step/4)
	for i, c := range s.Counts {
		if c == 0 {
			continue
		}
		hgt := (bottom - top) * float64(c) / scale
		x := left + float64(i)*step
		g.printf(`<rect class="%s" x="%.2f" y="%.2f" width="%.2f" height="%.2f"><title>%s</title></rect>`,
			class, x+gap/2, bottom-hgt, step-gap, hgt, esc(barTitle(s, i, c, loc)))
	}
}

// stackedChart draws the decisions of a window by kind: a stacked bar per
// bucket, y axis ticks in round numbers and time labels along the x axis,
// each with its date under it where the date changes. The page shows the
// legend (see swatch), where it can wrap.
func stackedChart(ks []kindSeries, w window, loc *time.Location) template.HTML {
	const (
		width, height            = 760, 264
		left, right, top, bottom = 58.0, 724.0, 14.0, 214.0
	)
	var g svg
	g.open(width, height, "chart", "Decisions by kind "+w.Unit()+", "+w.Label)
	if len(ks) == 0 || len(ks[0].Series.Counts) == 0 { // no bucket: no bar, no time label to step over
		g.text((left+right)/2, (top+bottom)/2, "middle", "empty", "No decision in this window.")
		g.printf(`</svg>`)
		return g.html()
	}
	n := len(ks[0].Series.Counts)
	totals := make([]int64, n)
	for _, k := range ks {
		for i, c := range k.Series.Counts {
			totals[i] += c
		}
	}
	var peak int64
	for _, t := range totals {
		peak = max(peak, t)
	}
	tick, scale := niceScale(peak)
	for v := int64(0); v <= int64(scale); v += tick {
		y := bottom - (bottom-top)*float64(v)/scale
		g.printf(`<path class="grid" d="M%.1f %.1fH%.1f"/>`, left, y, right)
		g.text(left-6, y+4, "end", "tick", compact(v))
	}
	g.printf(`<text class="unit" transform="translate(14 %.1f) rotate(-90)" text-anchor="middle">%s</text>`,
		(top+bottom)/2, esc("decisions "+w.Unit()))
	step := (right - left) / float64(n)
	base := make([]float64, n)
	for _, k := range ks {
		for i, c := range k.Series.Counts {
			if c == 0 {
				continue
			}
			hgt := (bottom - top) * float64(c) / scale
			base[i] += hgt
			g.printf(`<rect class="k-%s" x="%.2f" y="%.2f" width="%.2f" height="%.2f"><title>%s</title></rect>`,
				kindClass(k.Kind), left+float64(i)*step+0.5, bottom-base[i], max(step-1, 0.5), hgt,
				esc(kindWords(k.Kind)+": "+barTitle(k.Series, i, c, loc)))
		}
	}
	g.printf(`<path class="axis" d="M%.1f %.1fV%.1fH%.1f"/>`, left, top, bottom, right)
	s := ks[0].Series
	every := (n + 7) / 8
	var day string
	for i := 0; i <= n; i += every {
		x := left + float64(i)*step
		at := s.Start.Add(s.Bucket * time.Duration(i))
		g.printf(`<path class="axis" d="M%.1f %.1fv4"/>`, x, bottom)
		g.text(x, bottom+16, "middle", "tick", axisTime(at, w.Span, loc))
		if d := axisDate(at, w.Span, loc); d != day {
			g.text(x, bottom+29, "middle", "tick", d)
			day = d
		}
	}
	unit := "time (" + zoneName(s.Start, loc) + ")"
	if s.partial(n - 1) { // the kinds' series share their buckets and their Now
		unit += " · last bar so far, " + countedTo(s, loc)
	}
	g.text(right, bottom+44, "end", "unit", unit)
	g.printf(`</svg>`)
	return g.html()
}

// funnelChart draws the funnel's steps as horizontal bars scaled to the
// first step, with each step's count and share of the previous step.
func funnelChart(steps []funnelStep) template.HTML {
	const (
		width, row        = 760, 34
		barLeft, barRight = 120.0, 560.0
	)
	var g svg
	g.open(width, row*len(steps)+4, "funnel", "Funnel: triggered, scheduled, sent, converted")
	first := float64(max(steps[0].Count, 1))
	for i, s := range steps {
		y := float64(i*row) + 4
		g.text(barLeft-8, y+20, "end", "label", s.Label)
		wd := (barRight - barLeft) * float64(s.Count) / first
		if s.Count > 0 {
			wd = max(wd, 2)
		}
		g.printf(`<rect class="step-%s" x="%.1f" y="%.1f" width="%.2f" height="%d"/>`, className(s.Key), barLeft, y, min(wd, barRight-barLeft), row-8)
		label := thousands(s.Count) // as the table beside it says counts
		if i > 0 && s.OfPrevious >= 0 {
			label += fmt.Sprintf("  (%.1f %% of %s)", s.OfPrevious, strings.ToLower(steps[i-1].Label))
		}
		g.text(barRight+8, y+20, "start", "label", label)
	}
	g.printf(`</svg>`)
	return g.html()
}

// swatch is the legend mark of a decision kind, coloured as its bars.
func swatch(k rule.DecisionKind) template.HTML {
	return template.HTML(`<svg class="swatch" viewBox="0 0 10 10" aria-hidden="true"><rect class="k-` +
		kindClass(k) + `" width="10" height="10"/></svg>`)
}

// niceScale returns a round tick step and the top of a y axis that holds
// peak in at most five ticks.
func niceScale(peak int64) (tick int64, top float64) {
	if peak <= 0 {
		return 1, 1
	}
	raw := float64(peak) / 5
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	tick = int64(mag)
	for _, m := range []float64{1, 2, 5, 10} {
		if m*mag >= raw {
			tick = int64(m * mag)
			break
		}
	}
	tick = max(tick, 1)
	steps := (peak + tick - 1) / tick
	return tick, float64(steps * tick)
}

// compact writes a count for an axis: 950, 12k, 3.4M.
func compact(n int64) string {
	switch {
	case n >= 10_000_000:
		return fmt.Sprintf("%dM", n/1_000_000)
	case n >= 1_000_000:
		return fmt.Sprintf("%.1fM", float64(n)/1e6)
	case n >= 10_000:
		return fmt.Sprintf("%dk", n/1000)
	}
	return fmt.Sprint(n)
}

// axisTime labels an instant on an axis spanning span: the time of day
// up to a week (axisDate says the day under it), the date beyond.
func axisTime(t time.Time, span time.Duration, loc *time.Location) string {
	if span <= 8*24*time.Hour {
		return t.In(loc).Format("15:04")
	}
	return t.In(loc).Format("02 Jan")
}

// axisDate is the day of an instant axisTime labels with a time, "" for
// one it labels with its date.
func axisDate(t time.Time, span time.Duration, loc *time.Location) string {
	if span <= 8*24*time.Hour {
		return t.In(loc).Format("Mon 02 Jan")
	}
	return ""
}

// bucketLabel says which time bucket i of s covers.
func bucketLabel(s series, i int, loc *time.Location) string {
	from := s.Start.Add(s.Bucket * time.Duration(i)).In(loc)
	to := from.Add(s.Bucket)
	layout := "15:04 MST"
	if to.Sub(from) >= 24*time.Hour || to.Day() != from.Day() {
		layout = "Mon 02 Jan 15:04 MST"
	}
	return from.Format("Mon 02 Jan 15:04") + "–" + to.Format(layout)
}

// spanLabel says the whole span of s.
func spanLabel(s series, loc *time.Location) string {
	return bucketLabel(series{Start: s.Start, Bucket: s.Bucket * time.Duration(len(s.Counts))}, 0, loc)
}

func zoneName(t time.Time, loc *time.Location) string {
	name, _ := t.In(loc).Zone()
	return name
}

// kindClass turns a decision kind into a class name.
func kindClass(k rule.DecisionKind) string { return className(string(k)) }

// className keeps a class name to lower-case letters, digits and
// underscores, so that no value can leave the attribute.
func className(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' {
			return r
		}
		return '_'
	}, s)
}
