package sqlite_test

import (
	"testing"

	"github.com/campaignconnector/campaignconnector/store"
	"github.com/campaignconnector/campaignconnector/store/sqlite"
	"github.com/campaignconnector/campaignconnector/store/storetest"
)

// The suite skips the parts of the optional interfaces a store lacks:
// these the SQLite store must run.
var (
	_ store.Tallier       = (*sqlite.Store)(nil)
	_ store.PendingLister = (*sqlite.Store)(nil)
	_ store.BatchUpdater  = (*sqlite.Store)(nil)
)

func TestConformance(t *testing.T) {
	s := openStore(t, testPath(t))
	storetest.Run(t, func(*testing.T) store.Store { return s })
}

// Each subtest on a file of its own, as a host with one store per file
// has it.
func TestConformanceFilePerTest(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openStore(t, testPath(t)) })
}
