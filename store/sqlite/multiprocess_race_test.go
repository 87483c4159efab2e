//go:build race

package sqlite_test

// mpDeliveries is smaller under the race detector, which slows the child
// processes (the same binary) about tenfold.
const mpDeliveries = 5_000
