//go:build race

package store

// Under the race detector (about ten times slower) the one-user test
// drains 1,000 deliveries: the run without the detector is the one whose
// size only a store with linear updates gets through.
const oneUserDeliveries = 1000
