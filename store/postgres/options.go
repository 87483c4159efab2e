package postgres

import (
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"time"
)

// Option configures a [Store]; pass options to [Open], [New] or [Migrate].
type Option func(*config) error

type config struct {
	schema      string // "" until resolved: the connection's current_schema()
	prefix      string
	migrate     bool
	logger      *slog.Logger
	revisionAge time.Duration
}

func defaultConfig() config {
	return config{prefix: "campaignconnector_", migrate: true, revisionAge: time.Second}
}

// ErrInvalidOption reports an option that cannot be applied; the error
// wrapping it says why.
var ErrInvalidOption = errors.New("postgres: invalid option")

// identifier is what a schema name or table prefix may be: lower case, so
// that it reads the same quoted or not, and short enough to leave room for
// the table and index names built from it (PostgreSQL keeps 63 bytes).
var identifier = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

const maxPrefixLen = 30

// WithSchema puts the store's tables in schema name, created if it does not
// exist (which needs the CREATE privilege on the database). Defaults to the
// connection's current schema (the first schema of its search_path that
// exists and on which the role has USAGE, usually public), resolved once
// when the store is opened.
// name must be a lower-case SQL identifier: letters, digits and
// underscores.
func WithSchema(name string) Option {
	return func(c *config) error {
		if !identifier.MatchString(name) || len(name) > 63 {
			return fmt.Errorf("%w: schema %q: use lower-case letters, digits and underscores, at most 63 bytes", ErrInvalidOption, name)
		}
		c.schema = name
		return nil
	}
}

// WithTablePrefix starts the names of the store's tables and indexes with
// prefix, so that several stores (or other applications) can share a
// schema. Defaults to "campaignconnector_". prefix must be empty or a
// lower-case SQL identifier of at most 30 bytes; ending it with an
// underscore reads best.
func WithTablePrefix(prefix string) Option {
	return func(c *config) error {
		if prefix != "" && (!identifier.MatchString(prefix) || len(prefix) > maxPrefixLen) {
			return fmt.Errorf("%w: table prefix %q: use lower-case letters, digits and underscores, at most %d bytes", ErrInvalidOption, prefix, maxPrefixLen)
		}
		c.prefix = prefix
		return nil
	}
}

// WithMigrate sets whether [Open] and [New] bring the schema up to date.
// Defaults to true. With false they only check that [Migrate] has been run
// (for deployments where the application's database role may not change
// the schema) and fail with an error wrapping [ErrSchemaOutdated]
// otherwise.
func WithMigrate(migrate bool) Option {
	return func(c *config) error {
		c.migrate = migrate
		return nil
	}
}

// WithLogger reports what the store does in the background and cannot
// return as an error: its notification connection failing and
// reconnecting, a wake-up notification it could not send, and a pending
// delivery [Store.Claim] or [Store.CancelCampaign] cannot read (written by
// a newer version), which they leave to others. Defaults to
// [slog.Default] for warnings (its reconnections, at Info, are then not
// logged).
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return fmt.Errorf("%w: nil logger", ErrInvalidOption)
		}
		c.logger = l
		return nil
	}
}

// WithRevisionMaxAge bounds how old a value [Store.Revision] may serve
// when it cannot rely on its notification connection (see the package
// documentation). Defaults to one second, the bound [store.Store]
// documents; it must be positive.
func WithRevisionMaxAge(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("%w: revision max age must be positive, got %v", ErrInvalidOption, d)
		}
		c.revisionAge = d
		return nil
	}
}

func applyOptions(opts []Option) (config, error) {
	cfg := defaultConfig()
	var errs []error
	for _, o := range opts {
		if o == nil {
			errs = append(errs, fmt.Errorf("%w: nil option", ErrInvalidOption))
			continue
		}
		if err := o(&cfg); err != nil {
			errs = append(errs, err)
		}
	}
	return cfg, errors.Join(errs...)
}
