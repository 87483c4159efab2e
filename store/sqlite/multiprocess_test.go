package sqlite_test

import (
	"log/slog"
	"os"
	"testing"

	"github.com/campaignconnector/campaignconnector/internal/lifecyclekill"
	"github.com/campaignconnector/campaignconnector/internal/multiprocess"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/campaignconnector/campaignconnector/store/sqlite"
)

// The multi-process tests run engines in child processes on a database
// file of the test's own (see package multiprocess); a child opens its
// stores with sqlite.Open on the file CCMP_PATH names.

// envPath names the test's database file in a child's environment.
const envPath = "CCMP_PATH"

// newDatabase makes a database file of t's own.
func newDatabase(t *testing.T) multiprocess.Database {
	path := testPath(t)
	return multiprocess.Database{Open: func() store.Store { return openStore(t, path) }, Env: []string{envPath + "=" + path}}
}

// newMultiProcess makes a database file of t's own, and the parent's side
// of the multi-process tests on it.
func newMultiProcess(t *testing.T) *multiprocess.Harness { return multiprocess.New(t, newDatabase) }

// openChild opens a child's store on the parent's file.
func openChild(t *testing.T, logger *slog.Logger) lifecyclekill.Durable {
	return openStore(t, os.Getenv(envPath), sqlite.WithLogger(logger))
}

// TestHelperProcess is the child process of the multi-process tests; run
// on its own, it skips.
func TestHelperProcess(t *testing.T) { multiprocess.HelperProcess(t, openChild) }

func TestMultiProcessEachDeliverySentOnce(t *testing.T) {
	multiprocess.EachDeliverySentOnce(t, newDatabase, mpDeliveries)
}

func TestMultiProcessKilledEngineLeasesExpire(t *testing.T) {
	multiprocess.KilledEngineLeasesExpire(t, newDatabase, mpDeliveries)
}

func TestMultiProcessWakeUpAcrossProcesses(t *testing.T) {
	multiprocess.WakeUpAcrossProcesses(t, newDatabase)
}
