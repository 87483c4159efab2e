//go:build race

package sqlite_test

// mpDeliveries, crashUsers and diffSeeds are smaller under the race
// detector, which slows the child processes (the same binary) about
// tenfold.
const (
	mpDeliveries = 2_000
	crashUsers   = 2_000
	diffSeeds    = 8
)
