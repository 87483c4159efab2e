package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/campaignconnector/campaignconnector/store"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Store is a [store.Store] in one SQLite file, safe for concurrent use by
// any number of engines; several stores, in one process or several, may
// open the same file and share its work. Create it with [Open]; release
// it with [Store.Close]. A Store not made by Open (the zero value) is not
// open: its methods fail with an error wrapping [store.ErrClosed].
//
// It also implements [store.BatchUpdater] (one transaction per batch),
// [store.Notifier] (at once within the store, within the notify interval
// across stores and processes), [store.Tallier], [store.PendingLister],
// [store.PendingCounter], [store.CampaignPendingCounter] and
// [store.BatchCanceller] (see the package documentation).
type Store struct {
	path string
	cfg  config

	w     writer  // the one writing connection
	rdb   *sql.DB // the reading connections
	reads sync.Map

	closed  atomic.Bool
	closing chan struct{} // closed by Close: ends the watcher
	wg      sync.WaitGroup
	epoch   time.Time // origin of the monotonic clock the revision cache uses

	revs sync.Map // ns → *revEntry
	subs notifier
}

var (
	_ store.Store        = (*Store)(nil)
	_ store.BatchUpdater = (*Store)(nil)
	_ store.Notifier     = (*Store)(nil)
)

// ErrInvalidPath reports a path [Open] (or [Store.Backup]) cannot use:
// empty, an in-memory database, which each connection would see empty, a
// "file:" URI, one holding a NUL byte (SQLite would open the file named by
// the part before it), a directory or another file that is not a regular
// one (a device, a pipe), a file that is not empty and is not an SQLite
// database (it does not start with SQLite's header), or a file in a
// directory that does not exist
// (one on the way to it is missing, or is a file); a file whose name is
// too long for SQLite to name the files it keeps beside it: longer than
// 247 bytes for a new file, 251 for an existing one (see [Open]); on
// Unix, a file whose full path, as SQLite makes it (absolute, links
// followed), is longer than 504 bytes; for a backup, also a name that
// SQLite gives those files (ending in "-journal", "-wal" or "-shm"), one
// longer than 247 bytes, one such as a backup's partial file's, or a
// full path too long for SQLite to write the copy (see [Store.Backup]).
var ErrInvalidPath = errors.New("sqlite: invalid path")

// Open opens the SQLite database file at path, creating it (not its
// directory) if it does not exist, brings its tables up to date and
// returns a store on it. path is a file system path, not a URI. The file
// is put in write-ahead-log mode, which it keeps; SQLite keeps two files
// beside it, path+"-wal" and path+"-shm", while it is open. An existing
// file must be empty (a new database) or start with SQLite's header: Open
// refuses any other with [ErrInvalidPath], before SQLite opens it, leaving
// it and its directory as they were (SQLite would write a database over
// some: a file of one byte, or one beside another database's -wal or
// journal). A file with the header whose content is not a database fails
// with SQLite's error.
//
// SQLite names the files it keeps beside a database by adding to its name
// (on Unix, after following a link to the file the link leads to), and a name may
// have at most 255 bytes (on Windows, UTF-16 code units). So Open refuses
// with [ErrInvalidPath], and creates nothing: a new file whose name is
// longer than 247 bytes (SQLite creates it through its journal,
// path+"-journal"), and an existing file whose name is longer than 251
// (its write-ahead log, path+"-wal", could not be opened). An existing
// file whose name has 248 to 251 bytes opens if it is in write-ahead-log
// mode already (a store's file, renamed); if not, Open fails with
// ErrInvalidPath, as SQLite would need its journal to switch it.
//
// On Unix, SQLite also limits the full path of a file: it makes the path
// absolute (after the working directory) and follows the links on the
// way, and takes a full path of at most 512 bytes, the journal's
// included, which adds "-journal" to the database's. So Open of a file
// whose full path so made is longer than 504 bytes, new or existing,
// fails with ErrInvalidPath naming the path, its full path and its
// length, and creates nothing; so does one whose full path reaches 512
// bytes on the way, before a ".." or a link shortens it (SQLite fails
// there). The error keeps SQLite's in its chain.
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	cfg, err := applyOptions(opts)
	if err != nil {
		return nil, err
	}
	if why := unusableName(path); why != "" {
		return nil, fmt.Errorf("%w: %q: %s: give the path of a file", ErrInvalidPath, path, why)
	}
	if err := checkPath(path); err != nil {
		return nil, err
	}
	if err := checkOpenName(path); err != nil {
		return nil, err
	}
	opening, err := checkHeader(path)
	if err != nil {
		return nil, err
	}
	// Until the store has taken its turn, or its connection is closed.
	defer opening.release()
	s := &Store{path: path, cfg: cfg, closing: make(chan struct{}), epoch: time.Now()}
	s.subs.init()
	wdb, err := sql.Open("sqlite", dsn(path, cfg, cfg.cacheBytes))
	if err != nil {
		return nil, wrap("opening", err)
	}
	wdb.SetMaxOpenConns(1)
	if err := s.w.open(ctx, wdb, path); err != nil {
		wdb.Close()
		return nil, openError(path, err)
	}
	if err := s.setUp(ctx); err != nil {
		s.w.close()
		return nil, err
	}
	s.rdb, err = sql.Open("sqlite", dsn(path, cfg, cfg.cacheBytes/4))
	if err != nil {
		s.w.close()
		return nil, wrap("opening", err)
	}
	s.rdb.SetMaxOpenConns(cfg.readers)
	s.rdb.SetMaxIdleConns(cfg.readers)
	s.wg.Add(1)
	go func() { defer s.wg.Done(); s.watch() }()
	return s, nil
}

// openError is the error of Open when SQLite cannot open the file (a
// permission, say: checkPath caught the path's shape): it names the path
// and the cause withOpenCause finds, or is pathTooLong's.
func openError(path string, err error) error {
	if errors.Is(err, store.ErrClosed) {
		return err
	}
	if long := pathTooLong(path, fmt.Sprintf("%q", path), "SQLite could not open the file", "the file", err); long != nil {
		return long
	}
	return fmt.Errorf("sqlite: opening %q: %w", path, withOpenCause(path, err))
}

// withOpenCause adds to err, when SQLite says only "unable to open
// database file" or "attempt to write a readonly database" (a file it may
// read but not write, or one in a directory where it may not create the
// write-ahead log), the cause the operating system gives for the file at
// path or its directory (openCause). Other errors are returned as they
// are.
func withOpenCause(path string, err error) error {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return err
	}
	if code := e.Code() & 0xff; code != sqlite3.SQLITE_CANTOPEN && code != sqlite3.SQLITE_READONLY {
		return err
	}
	if cause := openCause(path); cause != nil {
		return fmt.Errorf("%w: %w", err, cause)
	}
	return err
}

// openCause asks the operating system what keeps path from being opened
// for writing, as SQLite needs it: the file, when it exists, and then its
// directory, where SQLite creates the file and keeps the write-ahead log
// beside it. The file is never opened: closing a descriptor of it would
// release the locks of every SQLite connection of the process on it (POSIX
// advisory locks belong to the process), so its access is asked without
// opening it where the system allows (writable). The directory (the one
// the links on the way to path lead to, as SQLite finds it) is probed
// with a file of another name, removed at once. Then the write-ahead
// log's files beside it, path+"-wal" and path+"-shm", when they exist
// as files (beside the file path leads to, as SQLite finds them), are
// asked the same way: SQLite creates them with the file's mode, so a
// process that could read the file but not write it leaves them
// unwritable, and once the file is writable again SQLite says only
// "attempt to write a readonly database". It returns nil when it finds
// nothing, leaving SQLite's error alone.
func openCause(path string) error {
	if _, err := os.Stat(path); err == nil {
		if err := writable(path); err != nil {
			return err
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	// SQLite keeps the file and its write-ahead log where the links on
	// the way to path lead (fullPath): the directory asked about is that
	// one, and the log's files are refused when they are not files (a
	// link, whatever it leads to): their modes are then not the cause.
	wal := path
	if full, _, ok := fullPath(path); ok {
		wal = full
	}
	probe, err := os.CreateTemp(filepath.Dir(wal), ".campaignconnector-probe-*")
	if err != nil {
		return fmt.Errorf("the directory must be writable (SQLite creates the file and its write-ahead log there): %w", err)
	}
	probe.Close()
	os.Remove(probe.Name())
	var errs []error
	for _, name := range []string{wal + "-wal", wal + "-shm"} {
		if fi, err := os.Lstat(name); err == nil && fi.Mode().IsRegular() {
			if err := writable(name); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("the write-ahead log's files beside it must be writable too (give them the file's owner and mode): %w", errors.Join(errs...))
	}
	return nil
}

// unusableName says why Open refuses path by its form alone, or returns
// "": an empty path, the in-memory database (each connection would see its
// own, empty), or a URI (Open sets the options it needs on the URI it
// builds, so it takes a file system path).
func unusableName(path string) string {
	switch {
	case path == "":
		return "empty"
	case path == ":memory:":
		return "an in-memory database, which each connection would see empty"
	case strings.HasPrefix(path, "file:"):
		return "a URI, and Open takes a file system path (it sets the options it needs itself)"
	}
	return ""
}

// checkPath names what makes path unusable when SQLite would only say
// "unable to open database file" or would open another file: it holds a
// NUL byte, is a directory or another file that is not a regular one, or
// its directory does not exist (one of the directories on the way to it
// is missing or is a file).
func checkPath(path string) error {
	// SQLite reads the name up to its first NUL: "a.db\x00b" would open a.db.
	if i := strings.IndexByte(path, 0); i >= 0 {
		return fmt.Errorf("%w: %q holds a NUL byte at byte %d", ErrInvalidPath, path, i)
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return fmt.Errorf("%w: %q is a directory: give the path of a file", ErrInvalidPath, path)
	} else if err == nil && !fi.Mode().IsRegular() {
		return notRegular(path)
	}
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%w: %q: directory %q does not exist (Open creates the file, not its directory)", ErrInvalidPath, path, dir)
	case err == nil && !fi.IsDir():
		return fmt.Errorf("%w: %q: %q is not a directory", ErrInvalidPath, path, dir)
	case errors.Is(err, syscall.ENOTDIR):
		if file := fileOnTheWay(dir); file != "" {
			return fmt.Errorf("%w: %q: %q is not a directory", ErrInvalidPath, path, file)
		}
	}
	return nil // other errors (permissions) are SQLite's to report
}

// notRegular is the error of a path where a file that is not a regular
// one is: a pipe, a socket or a device, which SQLite would fail to keep a
// database in, or (a disk, whose size the system reports as zero) write a
// backup over.
func notRegular(path string) error {
	return fmt.Errorf("%w: %q is not a regular file (a device, a pipe or a socket): give the path of a file", ErrInvalidPath, path)
}

// fileOnTheWay returns the nearest of dir and its parents that exists and
// is not a directory, or "" if it finds none: the one that makes a path
// through it fail with ENOTDIR.
func fileOnTheWay(dir string) string {
	for {
		if fi, err := os.Stat(dir); err == nil {
			if fi.IsDir() {
				return ""
			}
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// dsn is the URI modernc.org/sqlite opens: the file, and the settings
// each connection applies (busy timeout first).
func dsn(path string, cfg config, cacheBytes int64) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", cfg.busyTimeout.Milliseconds()))
	q.Add("_pragma", "synchronous("+string(cfg.synchronous)+")")
	q.Add("_pragma", fmt.Sprintf("cache_size(%d)", -cacheBytes/1024))
	q.Add("_pragma", "foreign_keys(0)")
	q.Add("_pragma", "temp_store(memory)")
	// The write-ahead log is truncated to this after a checkpoint that
	// emptied it, so that a burst does not leave a large file behind.
	q.Add("_pragma", "journal_size_limit(67108864)")
	p := (&url.URL{Path: path}).EscapedPath()
	if strings.HasPrefix(p, "//") {
		// "file://tmp/a.db" names the host "tmp", which SQLite refuses:
		// after an empty authority the path is whole.
		p = "//" + p
	}
	return "file:" + p + "?" + q.Encode()
}

// Close stops the store's background work and closes its connections.
// Calls after Close return [store.ErrClosed]. Writes in progress finish
// first; a read in progress finishes, or returns [store.ErrClosed] when
// it needed the reading connections after Close closed them (a page of
// [Store.Interactions] after the first, say). Close is idempotent: calls
// after the first return nil.
func (s *Store) Close() error {
	if s.closing == nil {
		return errNotOpened
	}
	if !s.closed.CompareAndSwap(false, true) {
		return nil
	}
	close(s.closing)
	s.wg.Wait()
	err := s.rdb.Close()
	s.w.sem <- struct{}{} // the write in progress, if any, ends first
	err = errors.Join(err, s.w.close())
	<-s.w.sem
	return wrap("closing", err)
}

// Path returns the path of the store's database file.
func (s *Store) Path() string { return s.path }

// begin checks what every method checks first: the store is open and ctx
// is live.
func (s *Store) begin(ctx context.Context) error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	if s.closing == nil {
		return errNotOpened
	}
	return ctx.Err()
}

// errNotOpened is the error of every method of a Store that Open did not
// make (the zero value).
var errNotOpened = fmt.Errorf("%w: a sqlite.Store not made by Open is not open: use Open", store.ErrClosed)

// log reports what the store does in the background and cannot return as
// an error. Without WithLogger, warnings and errors go to the process's
// default logger rather than nowhere, and the rest is dropped.
func (s *Store) log(level slog.Level, msg string, attrs ...slog.Attr) {
	l := s.cfg.logger
	if l == nil {
		if level < slog.LevelWarn {
			return
		}
		l = slog.Default()
	}
	l.LogAttrs(context.Background(), level, "campaignconnector/sqlite: "+msg, attrs...)
}

// mono is the store's monotonic clock, for cache ages only: the store's
// semantics use the now its callers pass.
func (s *Store) mono() int64 { return int64(time.Since(s.epoch)) }

// wrap adds the operation's name to a back-end error, keeping ctx's error
// and store.ErrClosed recognisable.
func wrap(op string, err error) error {
	if err == nil || errors.Is(err, store.ErrClosed) {
		return err
	}
	return fmt.Errorf("sqlite: %s: %w", op, err)
}

// maxAttempts bounds the attempts of a call that finds the database
// locked by another connection after waiting the busy timeout.
const maxAttempts = 5

// busy reports whether err is SQLite's "database is locked" (or "table is
// locked"): another connection held a lock for longer than the busy
// timeout, or held one SQLite does not wait for. Trying again may work.
func busy(err error) bool {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	code := e.Code() & 0xff
	return code == sqlite3.SQLITE_BUSY || code == sqlite3.SQLITE_LOCKED
}

// retried runs fn until it succeeds, up to maxAttempts times while it
// fails with busy.
func retried(ctx context.Context, fn func() error) error {
	for attempt := 1; ; attempt++ {
		err := fn()
		if err == nil || !busy(err) || attempt == maxAttempts || ctx.Err() != nil {
			return err
		}
	}
}

// readStmt returns the statement q prepared on the reading connections.
func (s *Store) readStmt(ctx context.Context, q string) (*sql.Stmt, error) {
	if v, ok := s.reads.Load(q); ok {
		return v.(*sql.Stmt), nil
	}
	st, err := s.rdb.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	if v, loaded := s.reads.LoadOrStore(q, st); loaded {
		st.Close()
		return v.(*sql.Stmt), nil
	}
	return st, nil
}

// query runs q on a reading connection, retried while the database is
// busy, and hands its rows to fn.
func (s *Store) query(ctx context.Context, q string, fn func(*sql.Rows) error, args ...any) error {
	st, err := s.readStmt(ctx, q)
	if err != nil {
		return s.readErr(err)
	}
	return s.readErr(retried(ctx, func() error {
		rows, err := st.QueryContext(ctx, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		if err := fn(rows); err != nil {
			return err
		}
		return rows.Err()
	}))
}

// readErr is err, the error of a read, wrapped in [store.ErrClosed] when
// the store was closed: Close closes the reading connections without
// waiting for the reads that passed [Store.begin], which then fail with
// database/sql's "database is closed". The caller's own cancellation is
// left as it is.
func (s *Store) readErr(err error) error {
	if err == nil || !s.closed.Load() || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("%w: %w", store.ErrClosed, err)
}

// queryRow runs q on a reading connection and scans its one row into
// dest; ok is false when there is none.
func (s *Store) queryRow(ctx context.Context, q string, args []any, dest ...any) (ok bool, err error) {
	err = s.query(ctx, q, func(rows *sql.Rows) error {
		if !rows.Next() {
			return nil
		}
		ok = true
		return rows.Scan(dest...)
	}, args...)
	return ok, err
}
