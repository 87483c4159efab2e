//go:build race

package sqlite_test

// mpDeliveries and crashUsers are smaller under the race detector, which
// slows the child processes (the same binary) about tenfold.
const (
	mpDeliveries = 4_000
	crashUsers   = 4_000
)
