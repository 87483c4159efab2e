//go:build !race

package simulate_test

// diffDefaultN is how many scenarios TestReplayMatchesTickedEngine runs
// by default.
const diffDefaultN = 30
