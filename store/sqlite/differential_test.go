package sqlite_test

import (
	"flag"
	"testing"

	"github.com/campaignconnector/campaignconnector/internal/enginediff"
	"github.com/campaignconnector/campaignconnector/store"
)

// The differential tests play the same random scenarios through an engine
// on the memory store and one on a database file of the test's own (see
// package enginediff); a restart reopens the file.

var diffSeedsFlag = flag.Int("diff.seeds", diffSeeds, "TestEngineOnSQLiteDecidesAsOnMemory: how many seeds to play (-short: 8 at most)")

// newDiffDatabase makes a database file of t's own.
func newDiffDatabase(t *testing.T) enginediff.Database {
	path := testPath(t)
	return enginediff.Database{Open: func(t *testing.T) store.Store { return openStore(t, path) }}
}

// TestEngineOnSQLiteDecidesAsOnMemory: see
// enginediff.EngineDecidesAsOnMemory.
func TestEngineOnSQLiteDecidesAsOnMemory(t *testing.T) {
	seeds := *diffSeedsFlag
	if testing.Short() {
		seeds = min(seeds, 8)
	}
	enginediff.EngineDecidesAsOnMemory(t, newDiffDatabase, seeds)
}

// TestEdgesOnSQLiteDecideAsOnMemory: see enginediff.EdgesDecideAsOnMemory.
func TestEdgesOnSQLiteDecideAsOnMemory(t *testing.T) {
	seeds := 12
	if testing.Short() {
		seeds = 3
	}
	enginediff.EdgesDecideAsOnMemory(t, newDiffDatabase, seeds)
}
