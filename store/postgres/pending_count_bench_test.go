package postgres_test

import (
	"context"
	"testing"

	"github.com/campaignconnector/campaignconnector/internal/storebench"
	"github.com/campaignconnector/campaignconnector/store/postgres"
	"github.com/jackc/pgx/v5"
)

// What the pending deliveries gauge costs at each metric collection, on a
// namespace of 200,000 users with a pending delivery each (vacuumed and
// analyzed, as autovacuum leaves a settled table): Stats, which counts the
// users, campaigns and interactions too, against PendingCount. Each run
// fills its own schema first (about 10 seconds) and times Stats, then
// PendingCount (-count repeats each in turn on the same fill): for
// interleaved rounds, run the command several times:
//
//	go test ./store/postgres -run '^$' -bench PendingCount -benchmem -benchtime 20x -timeout 0
func BenchmarkPendingCount(b *testing.B) {
	schema := testSchema(b)
	s := openStore(b, postgres.WithSchema(schema))
	ctx := context.Background()
	const ns = "bench"
	storebench.FillPending(b, s, ns, t0)
	conn, err := pgx.Connect(ctx, testDSN(b))
	if err != nil {
		b.Fatal(err)
	}
	for _, t := range []string{"users", "pending"} {
		if _, err := conn.Exec(ctx, "VACUUM ANALYZE "+pgx.Identifier{schema, "campaignconnector_" + t}.Sanitize()); err != nil {
			b.Fatal(err)
		}
	}
	if err := conn.Close(ctx); err != nil {
		b.Fatal(err)
	}
	storebench.PendingCount(b, s, ns)
}
