package main

import (
	"context"
	"os"
	"testing"
)

// The three measurements run end to end on a small workload: both sides
// send every delivery (run checks the counts), the scale runs drain every
// round, the steady traffic reaches its last step.
func TestMeasurementsRunSmall(t *testing.T) {
	dsn := os.Getenv("CAMPAIGNCONNECTOR_POSTGRES_DSN")
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("CAMPAIGNCONNECTOR_POSTGRES_DSN is not set and CI=true")
		}
		t.Skip("CAMPAIGNCONNECTOR_POSTGRES_DSN is not set: start a throwaway server with `source .ci/postgres.sh start`")
	}
	ctx := context.Background()
	pool, err := newPool(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if err := compare(ctx, pool, 300, []int{2}, 1, true, ""); err != nil {
		t.Fatal(err)
	}
	if err := measureScale(ctx, pool, []int{100, 300}, 1, 20, 200); err != nil {
		t.Fatal(err)
	}
	if err := measurePrune(ctx, pool, 4000, 4); err != nil {
		t.Fatal(err)
	}
}
