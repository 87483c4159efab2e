package postgres_test

import (
	"context"
	"log"
	"log/slog"
	"os"
	"time"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store/postgres"
	"github.com/jackc/pgx/v5/pgxpool"
)

// campaigns and sender stand for the host's: its campaigns as code and
// its transport.
var (
	campaigns []rule.Campaign
	sender    connector.Sender
)

// Every replica opens the store (the first brings the schema up to date,
// under an advisory lock), applies the same campaigns, and runs. This
// example needs a server, so it is not run.
func ExampleOpen() {
	ctx := context.Background()
	s, err := postgres.Open(ctx, os.Getenv("DATABASE_URL"), postgres.WithSchema("campaigns"))
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	engine, err := connector.New(s, sender, connector.WithLogger(slog.Default()))
	if err != nil {
		log.Fatal(err)
	}
	if err := engine.Apply(ctx, campaigns, connector.KeepStopped()); err != nil {
		log.Fatal(err)
	}
	if err := engine.Run(ctx); err != nil {
		log.Fatal(err)
	}
}

// A deployment whose application role may not change the schema: a
// migration step runs Migrate as the schema's owner, and the application
// opens the store with WithMigrate(false) and the same options, which
// fails with ErrSchemaOutdated if that step did not run (docs/stores.md,
// "Separate roles for migrations"). This example needs a server, so it is
// not run.
func ExampleMigrate() {
	ctx := context.Background()
	// The migration step, as the migrator role.
	admin, err := pgxpool.New(ctx, os.Getenv("MIGRATOR_DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	if err := postgres.Migrate(ctx, admin, postgres.WithSchema("campaigns")); err != nil {
		log.Fatal(err)
	}
	admin.Close()

	// The application, as its own role.
	s, err := postgres.Open(ctx, os.Getenv("DATABASE_URL"), postgres.WithSchema("campaigns"), postgres.WithMigrate(false))
	if err != nil {
		log.Fatal(err) // errors.Is(err, postgres.ErrSchemaOutdated): run the migration step first
	}
	defer s.Close()
}

// A host that already has a pool passes it to New; the store does not
// close it. This example needs a server, so it is not run.
func ExampleNew() {
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	cfg.ShouldPing = postgres.ShouldPing // drop connections the server closed before use
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	s, err := postgres.New(ctx, pool)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close() // before pool.Close, as the defers run
}

// A replica checks its clock against the database server's before it
// starts: replicas whose clocks disagree by a quarter of the lease (15 s
// by default) can send a delivery twice. This example needs a server, so
// it is not run.
func ExampleStore_ServerNow() {
	ctx := context.Background()
	s, err := postgres.Open(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	engine, err := connector.New(s, sender)
	if err != nil {
		log.Fatal(err)
	}
	skew, err := engine.ClockSkew(ctx)
	if err != nil {
		log.Fatal(err)
	}
	if skew.Abs() > 2*time.Second {
		log.Fatalf("this host's clock is %v off the database server's: fix its time synchronisation first", skew)
	}
	if err := engine.Run(ctx); err != nil {
		log.Fatal(err)
	}
}
