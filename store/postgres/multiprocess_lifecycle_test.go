package postgres_test

import (
	"context"
	"log/slog"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/internal/lifecyclekill"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/campaignconnector/campaignconnector/store/postgres"
)

// The lifecycle crash tests kill a child process in the middle of a
// campaign change and restart as a host does (see package lifecyclekill),
// on a schema of the test's own; the children are the
// multi-process tests' (TestHelperProcess).

func TestLifecycleCrashDuringApply(t *testing.T) { lifecyclekill.CrashDuringApply(t, newLCDatabase) }

func TestLifecycleCrashDuringStop(t *testing.T) { lifecyclekill.CrashDuringStop(t, newLCDatabase) }

func TestLifecycleCrashDuringTick(t *testing.T) { lifecyclekill.CrashDuringTick(t, newLCDatabase) }

func TestLifecycleCrashDuringBackfill(t *testing.T) {
	lifecyclekill.CrashDuringBackfill(t, newLCDatabase)
}

// lcDatabase is a schema of the test's own, and its children.
type lcDatabase struct{ *multiProcess }

func newLCDatabase(t *testing.T) lifecyclekill.Database {
	return lcDatabase{&multiProcess{t: t, schema: testSchema(t), ns: "lc", dir: t.TempDir()}}
}

func (d lcDatabase) Open() store.Store { return openStore(d.t, postgres.WithSchema(d.schema)) }

func (d lcDatabase) Start(name string, env []string) lifecyclekill.Child {
	return lcChild{d.start(childConfig{name: name, env: env})}
}

// runLifecycleChild is a lifecycle crash test's child: it makes its change
// on a store in the parent's schema.
func runLifecycleChild(t *testing.T) {
	f, err := os.OpenFile(os.Getenv(envSends), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	require.NoError(t, err)
	defer f.Close()
	rec := &fileSender{f: f}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	s, err := postgres.Open(context.Background(), testDSN(t), postgres.WithSchema(os.Getenv(envSchema)), postgres.WithLogger(logger))
	require.NoError(t, err)
	defer s.Close()
	lifecyclekill.RunChild(t, lifecyclekill.ChildConfig{Store: s, Sender: rec,
		Observer: connector.ObserverFunc(rec.observe), Logger: logger, Say: say})
}

// lcChild is a child process as the lifecycle crash tests see it.
type lcChild struct{ *child }

func (c lcChild) Lines() <-chan string { return c.lines }

func (c lcChild) Kill() { c.kill() }

func (c lcChild) Stop(t *testing.T) { c.stop(t) }

func (c lcChild) Wait() error {
	<-c.exited
	return c.err
}

func (c lcChild) Records(t *testing.T) [][]string { return c.readLines(t) }
