// Package summary renders the benchmark programs' per-round figures: the
// median of the rounds, with their range.
package summary

import (
	"fmt"
	"slices"
)

// Median returns the median of xs (the mean of the middle two for an even
// count), 0 for none.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// Spread renders the median and range of xs, "-" for none.
func Spread(xs []float64) string {
	if len(xs) == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f [%.0f–%.0f]", Median(xs), slices.Min(xs), slices.Max(xs))
}

// Spread1 renders the median and range of xs to a tenth, "-" for none.
func Spread1(xs []float64) string {
	if len(xs) == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f [%.1f–%.1f]", Median(xs), slices.Min(xs), slices.Max(xs))
}

// Ratio renders the median and range of a/b, round by round; "-" when
// the rounds do not pair up.
func Ratio(a, b []float64) string {
	if len(a) == 0 || len(a) != len(b) {
		return "-"
	}
	r := make([]float64, len(a))
	for i := range a {
		r[i] = a[i] / b[i]
	}
	return fmt.Sprintf("%.2fx [%.2f–%.2f]", Median(r), slices.Min(r), slices.Max(r))
}
