package main

import (
	"os"
	"strconv"
)

func itoa(n int) string { return strconv.Itoa(n) }

// workloadUsers is BENCH_USERS, 1,000,000 by default.
func workloadUsers() int {
	if n, err := strconv.Atoi(os.Getenv("BENCH_USERS")); err == nil && n > 0 {
		return n
	}
	return 1_000_000
}
