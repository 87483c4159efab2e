package dashboard

import (
	"regexp"
	"time"
)

// stampPattern matches the instants the engine writes into a decision's or
// a warning's detail: RFC 3339 in UTC, with the fraction of a second
// when there is one ("waiting since 2026-01-05T09:06:16.989004584Z").
var stampPattern = regexp.MustCompile(`\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})\b`)

// latePattern matches how late a delivery was scheduled, as the engine
// writes it: a Go duration down to the nanosecond ("late by 1h2m3.5s").
var latePattern = regexp.MustCompile(`\blate by ((?:\d+(?:\.\d+)?(?:ms|µs|us|ns|h|m|s))+)\b`)

// detailWords rewrites the engine's detail text for people: its instants
// as every other time of the pages (timeLayout, in loc) and how late a
// delivery was in words. The rest of the text, which can hold a sender's
// error or IDs events brought, is left as it is; the template escapes it.
func detailWords(s string, loc *time.Location) string {
	s = stampPattern.ReplaceAllStringFunc(s, func(m string) string {
		t, err := time.Parse(time.RFC3339Nano, m)
		if err != nil {
			return m
		}
		return formatTime(t, loc)
	})
	return latePattern.ReplaceAllStringFunc(s, func(m string) string {
		d, err := time.ParseDuration(latePattern.FindStringSubmatch(m)[1])
		switch {
		case err != nil:
			return m
		case d < time.Second:
			return "late by less than a second"
		}
		return "late by " + durationWords(d.Round(time.Second))
	})
}
