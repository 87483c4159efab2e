package sqlite_test

import (
	"testing"

	"github.com/campaignconnector/campaignconnector/internal/lifecyclekill"
	"github.com/campaignconnector/campaignconnector/internal/multiprocess"
)

// The lifecycle crash tests kill a child process in the middle of a
// campaign change and restart as a host does (see package lifecyclekill),
// on a database file of the test's own; the children are the
// multi-process tests' (TestHelperProcess).

func TestLifecycleCrashDuringApply(t *testing.T) { lifecyclekill.CrashDuringApply(t, newLCDatabase) }

func TestLifecycleCrashDuringStop(t *testing.T) { lifecyclekill.CrashDuringStop(t, newLCDatabase) }

func TestLifecycleCrashDuringTick(t *testing.T) { lifecyclekill.CrashDuringTick(t, newLCDatabase) }

func TestLifecycleCrashDuringBackfill(t *testing.T) {
	lifecyclekill.CrashDuringBackfill(t, newLCDatabase)
}

// newLCDatabase makes a database of t's own for the lifecycle crash
// tests.
func newLCDatabase(t *testing.T) lifecyclekill.Database {
	return multiprocess.Lifecycle(t, newDatabase)
}
