package postgres_test

import (
	"flag"
	"testing"

	"github.com/campaignconnector/campaignconnector/internal/enginediff"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/campaignconnector/campaignconnector/store/postgres"
)

// The differential tests play the same random scenarios through an engine
// on the memory store and one on a schema of the test's own (see package
// enginediff); a restart closes the store and opens another on the
// schema.

var diffSeeds = flag.Int("diff.seeds", 12, "TestEngineOnPostgresDecidesAsOnMemory and TestEdgesOnPostgresDecideAsOnMemory: how many seeds each plays (-short: 3 at most)")

// newDiffDatabase makes a schema of t's own.
func newDiffDatabase(t *testing.T) enginediff.Database {
	schema := testSchema(t)
	return enginediff.Database{Open: func(t *testing.T) store.Store { return openStore(t, postgres.WithSchema(schema)) }}
}

// TestEngineOnPostgresDecidesAsOnMemory: see
// enginediff.EngineDecidesAsOnMemory.
func TestEngineOnPostgresDecidesAsOnMemory(t *testing.T) {
	seeds := *diffSeeds
	if testing.Short() {
		seeds = min(seeds, 3)
	}
	enginediff.EngineDecidesAsOnMemory(t, newDiffDatabase, seeds)
}

// TestEdgesOnPostgresDecideAsOnMemory: see
// enginediff.EdgesDecideAsOnMemory.
func TestEdgesOnPostgresDecideAsOnMemory(t *testing.T) {
	seeds := *diffSeeds
	if testing.Short() {
		seeds = min(seeds, 3)
	}
	enginediff.EdgesDecideAsOnMemory(t, newDiffDatabase, seeds)
}
