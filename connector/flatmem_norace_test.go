//go:build !race

package connector_test

// How many unique events TestRememberedEventIDsStayWithinTheDedupWindow
// pushes through the dedup window, and how often it measures.
const eventsThroughWindow, checkEvery = 2_000_000, 100_000
