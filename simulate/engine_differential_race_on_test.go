//go:build race

package simulate_test

// diffDefaultN is how many scenarios TestReplayMatchesTickedEngine runs
// by default: fewer under the race detector, which makes the ticked
// engine's thousands of ticks per scenario some times slower.
const diffDefaultN = 6
