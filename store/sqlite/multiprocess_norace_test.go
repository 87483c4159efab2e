//go:build !race

package sqlite_test

// mpDeliveries is how many deliveries the multi-process tests schedule,
// crashUsers how many users the crash tests track, diffSeeds how many
// scenarios the differential test plays (the race detector's build takes
// fewer).
const (
	mpDeliveries = 20_000
	crashUsers   = 20_000
	diffSeeds    = 40
)
