package postgres_test

import (
	"log/slog"
	"os"
	"testing"

	"github.com/campaignconnector/campaignconnector/internal/lifecyclekill"
	"github.com/campaignconnector/campaignconnector/internal/multiprocess"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/campaignconnector/campaignconnector/store/postgres"
)

// The multi-process tests run engines in child processes on a schema of
// the test's own (see package multiprocess); a child opens its stores
// with postgres.Open on the test server, in the schema CCMP_SCHEMA names.

// envSchema names the test's schema in a child's environment.
const envSchema = "CCMP_SCHEMA"

// newDatabase makes a schema of t's own.
func newDatabase(t *testing.T) multiprocess.Database {
	schema := testSchema(t)
	return multiprocess.Database{Open: func() store.Store { return openStore(t, postgres.WithSchema(schema)) },
		Env: []string{envSchema + "=" + schema}}
}

// openChild opens a child's store in the parent's schema.
func openChild(t *testing.T, logger *slog.Logger) lifecyclekill.Durable {
	return openStore(t, postgres.WithSchema(os.Getenv(envSchema)), postgres.WithLogger(logger))
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
