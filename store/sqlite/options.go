package sqlite

import (
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Option configures a [Store]; pass options to [Open].
type Option func(*config) error

type config struct {
	synchronous    Synchronous
	busyTimeout    time.Duration
	readers        int
	cacheBytes     int64
	revisionAge    time.Duration
	notifyInterval time.Duration
	logger         *slog.Logger
}

func defaultConfig() config {
	return config{
		synchronous:    SynchronousNormal,
		busyTimeout:    5 * time.Second,
		readers:        4,
		cacheBytes:     64 << 20,
		revisionAge:    time.Second,
		notifyInterval: 100 * time.Millisecond,
	}
}

// ErrInvalidOption reports an option that cannot be applied; the error
// wrapping it says why.
var ErrInvalidOption = errors.New("sqlite: invalid option")

// Synchronous is SQLite's synchronous setting: how often the store waits
// for the disk (fsync) when it commits. See the package documentation,
// "Durability", for what each costs and keeps.
type Synchronous string

const (
	// SynchronousNormal syncs the write-ahead log when it is checkpointed
	// into the database, not at each commit. A committed transaction
	// survives the process crashing; a power loss or an operating system
	// crash may roll back the transactions committed since the last
	// checkpoint. The file stays consistent either way.
	SynchronousNormal Synchronous = "NORMAL"
	// SynchronousFull also syncs the write-ahead log at each commit: a
	// committed transaction survives a power loss too, for a sync per
	// commit.
	SynchronousFull Synchronous = "FULL"
)

// WithSynchronous sets the synchronous setting of the store's
// connections. Defaults to [SynchronousNormal].
func WithSynchronous(s Synchronous) Option {
	return func(c *config) error {
		if s != SynchronousNormal && s != SynchronousFull {
			return fmt.Errorf("%w: synchronous %q: use SynchronousNormal or SynchronousFull", ErrInvalidOption, s)
		}
		c.synchronous = s
		return nil
	}
}

// maxBusyTimeout is the longest busy timeout SQLite holds: 2³¹-1
// milliseconds, about 24.8 days.
const maxBusyTimeout = (1<<31 - 1) * time.Millisecond

// WithBusyTimeout sets how long one attempt to take the write lock waits
// while another connection (another store on the file, another process)
// holds it, before the store tries again; a call gives up after 5
// attempts, or when its context ends. Defaults to 5 seconds; it must be
// positive, and SQLite counts it in whole milliseconds, in a C int: from
// 1 ms to 2³¹-1 ms (about 24.8 days).
func WithBusyTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("%w: busy timeout must be positive, got %v", ErrInvalidOption, d)
		}
		if d < time.Millisecond || d > maxBusyTimeout {
			// SQLite would take it for 0 ms: no wait at all.
			return fmt.Errorf("%w: busy timeout must be from 1ms to %v (SQLite counts it in milliseconds, in a C int), got %v",
				ErrInvalidOption, maxBusyTimeout, d)
		}
		c.busyTimeout = d
		return nil
	}
}

// WithReaders sets how many connections the store keeps for reads
// (User, NextDue, Campaigns, Stats, Backup…), besides its one writing
// connection. Defaults to 4; it must be at least 1.
func WithReaders(n int) Option {
	return func(c *config) error {
		if n < 1 {
			return fmt.Errorf("%w: readers must be at least 1, got %d", ErrInvalidOption, n)
		}
		c.readers = n
		return nil
	}
}

// maxCacheSize is the largest cache WithCacheSize takes: SQLite keeps
// the cache size as a C int of KiB, 2³¹-1 KiB (about 2 TiB).
const maxCacheSize = (1<<31 - 1) << 10

// WithCacheSize sets the page cache of each of the store's connections,
// in bytes. Defaults to 64 MiB for the writing connection, a quarter of
// that for each reading one; it must be at least 1 MiB, and at most
// 2³¹-1 KiB (about 2 TiB), the largest SQLite holds.
func WithCacheSize(bytes int64) Option {
	return func(c *config) error {
		if bytes < 1<<20 {
			return fmt.Errorf("%w: cache size must be at least 1 MiB, got %d bytes", ErrInvalidOption, bytes)
		}
		if bytes > maxCacheSize {
			// SQLite would take it for another size (0 past 4 TiB).
			return fmt.Errorf("%w: cache size must be at most %d bytes (SQLite counts it in KiB, in a C int), got %d bytes",
				ErrInvalidOption, int64(maxCacheSize), bytes)
		}
		c.cacheBytes = bytes
		return nil
	}
}

// WithRevisionMaxAge bounds how old a value [Store.Revision] may serve:
// campaign changes made through this store are seen at once, those made
// through another store on the same file (another process) within this
// age. Defaults to one second, the bound [store.Store] documents; it
// must be positive.
func WithRevisionMaxAge(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("%w: revision max age must be positive, got %v", ErrInvalidOption, d)
		}
		c.revisionAge = d
		return nil
	}
}

// WithNotifyInterval sets how often the store looks at the file for
// wake-ups written by other stores on it (other processes) while
// [Store.Notify] has subscribers: a delivery another process schedules
// earlier than every other one wakes this store's engines within this
// interval. Defaults to 100 milliseconds; it must be positive.
func WithNotifyInterval(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("%w: notify interval must be positive, got %v", ErrInvalidOption, d)
		}
		c.notifyInterval = d
		return nil
	}
}

// WithLogger reports what the store does and cannot return as an error:
// a failed look for other processes' wake-ups, and a pending delivery
// [Store.Claim] or [Store.CancelCampaign] cannot read (written by a newer
// version), which they leave to others, all at Warn. Defaults to
// [slog.Default].
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return fmt.Errorf("%w: nil logger", ErrInvalidOption)
		}
		c.logger = l
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
