//go:build race

package connector_test

// Under the race detector (ten times slower) the flat-memory test pushes
// fewer events; the window still fills and slides several times.
const eventsThroughWindow, checkEvery = 300_000, 50_000
