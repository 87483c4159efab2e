package sqlite_test

import (
	"testing"

	"github.com/campaignconnector/campaignconnector/internal/storebench"
)

// What the pending deliveries gauge costs at each metric collection, on a
// namespace of 200,000 users with a pending delivery each: Stats, which
// counts the users, campaigns and interactions too, against PendingCount.
// Each run fills its own database first and times Stats, then
// PendingCount (-count repeats each in turn on the same fill): for
// interleaved rounds, run the command several times:
//
//	go test ./store/sqlite -run '^$' -bench PendingCount -benchmem -benchtime 20x -timeout 0
func BenchmarkPendingCount(b *testing.B) {
	s := openStore(b, testPath(b))
	const ns = "bench"
	storebench.FillPending(b, s, ns, t0)
	storebench.PendingCount(b, s, ns)
}
