//go:build !race

package postgres_test

// mpDeliveries is how many deliveries the multi-process tests schedule:
// 50,000, enough that every process claims many batches (the race
// detector's build schedules fewer).
const mpDeliveries = 50_000
