//go:build !race

package sqlite_test

// mpDeliveries is how many deliveries the multi-process tests schedule: the
// issue's 50,000 (the race detector's build schedules fewer).
const mpDeliveries = 50_000
