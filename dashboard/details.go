package dashboard

import (
	"fmt"
	"regexp"
	"time"
)

// stampPattern matches the instants the engine writes into a decision's or
// a warning's detail: RFC 3339 in UTC, with the fraction of a second
// when there is one ("waiting since 2026-01-05T09:06:16.989004584Z").
var stampPattern = regexp.MustCompile(`\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})\b`)

// goDuration matches a Go duration as the engine writes it, down to the
// nanosecond ("1h2m3.5s").
const goDuration = `((?:\d+(?:\.\d+)?(?:ms|µs|us|ns|h|m|s))+)`

// latePattern matches how late a delivery was scheduled ("late by
// 1h2m3.5s"); agoPattern how long ago something happened ("due at …,
// 1h20m0s ago", "happened 5m0s ago"); aheadPattern how far ahead of the
// engine's clock a trigger was stamped ("2h0m0.25s ahead of the clock").
var (
	latePattern  = regexp.MustCompile(`\blate by ` + goDuration + `\b`)
	agoPattern   = regexp.MustCompile(`\b` + goDuration + ` ago\b`)
	aheadPattern = regexp.MustCompile(`\b` + goDuration + ` ahead of the clock\b`)
)

// detailWords rewrites the engine's detail text for people: its instants
// as every other time of the pages (timeLayout, in loc) and its durations
// (how late, how long ago, how far ahead) in words. The rest of the text, which can hold
// a sender's error or IDs events brought, is left as it is; the template
// escapes it.
func detailWords(s string, loc *time.Location) string {
	s = stampPattern.ReplaceAllStringFunc(s, func(m string) string {
		t, err := time.Parse(time.RFC3339Nano, m)
		if err != nil {
			return m
		}
		return formatTime(t, loc)
	})
	s = replaceDuration(s, latePattern, "late by %s")
	s = replaceDuration(s, agoPattern, "%s ago")
	return replaceDuration(s, aheadPattern, "%s ahead of the clock")
}

// replaceDuration rewrites each match of p in s, whose first group is a Go
// duration, as format with the duration in words.
func replaceDuration(s string, p *regexp.Regexp, format string) string {
	return p.ReplaceAllStringFunc(s, func(m string) string {
		d, err := time.ParseDuration(p.FindStringSubmatch(m)[1])
		switch {
		case err != nil:
			return m
		case d < time.Second:
			return fmt.Sprintf(format, "less than a second")
		}
		return fmt.Sprintf(format, durationWords(d.Round(time.Second)))
	})
}
