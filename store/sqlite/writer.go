package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"github.com/campaignconnector/campaignconnector/store"
)

// writer is the store's one writing connection. SQLite lets one
// connection write at a time: the store's writes take turns on this one,
// and the stores of a process on the same file take turns with each
// other (a semaphore per file, which a caller's context can give up
// waiting for), rather than have their connections wait for each other's
// file locks, sleeping and retrying. Every write is a transaction begun
// with BEGIN IMMEDIATE, which takes the file's write lock first: its
// statements never find the file locked half way (other processes'
// writes wait at BEGIN, the busy timeout long, then try again).
type writer struct {
	db    *sql.DB
	turn  *fileTurn
	sem   chan struct{} // turn.sem
	conn  *sql.Conn
	stmts map[string]*sql.Stmt // prepared on conn; used under sem
	cache pendingCache         // used under sem
	path  string
	file  os.FileInfo // the file conn opened; nil if it could not be read
}

func (w *writer) open(ctx context.Context, db *sql.DB, path string) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	w.db, w.conn = db, conn
	// The path as SQLite resolved it when conn opened the file, which a
	// later change of the working directory does not move.
	w.path = absPath(path)
	w.file, _ = os.Stat(w.path) // SQLite created it, if it was missing, as conn opened
	w.turn = takeTurns(path, w.file)
	w.sem = w.turn.sem
	w.stmts = make(map[string]*sql.Stmt)
	return nil
}

func (w *writer) close() error {
	for _, st := range w.stmts {
		st.Close()
	}
	err := w.conn.Close()
	if cerr := w.db.Close(); err == nil {
		err = cerr
	}
	// The turn goes after the connections: until then it says the
	// process has the file open (heldOpen).
	w.turn.release(w.file)
	return err
}

// tx is a write transaction in progress: the writing connection, held.
type tx struct {
	ctx context.Context
	w   *writer
}

func (t *tx) stmt(q string) (*sql.Stmt, error) {
	if st, ok := t.w.stmts[q]; ok {
		return st, nil
	}
	st, err := t.w.conn.PrepareContext(t.ctx, q)
	if err != nil {
		return nil, err
	}
	t.w.stmts[q] = st
	return st, nil
}

func (t *tx) exec(q string, args ...any) (sql.Result, error) {
	st, err := t.stmt(q)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(t.ctx, args...)
}

func (t *tx) query(q string, args ...any) (*sql.Rows, error) {
	st, err := t.stmt(q)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(t.ctx, args...)
}

// rows runs q and hands its rows to each, one at a time.
func (t *tx) rows(q string, each func(*sql.Rows) error, args ...any) error {
	rows, err := t.query(q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := each(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// queryRow scans q's first row into dest; ok is false when it has none.
func (t *tx) queryRow(q string, args []any, dest ...any) (ok bool, err error) {
	rows, err := t.query(q, args...)
	if err != nil {
		return false, err
	}
	defer rows.Close()
	if rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return false, err
		}
		ok = true
	}
	return ok, rows.Err()
}

// write runs fn in a write transaction and commits it. If fn fails, or
// the commit does, it rolls back; if that was because the database was
// locked past the busy timeout, it runs fn again in a new transaction,
// up to maxAttempts times (fn must be repeatable). A write the file
// system refused is reported with what it says of its room (storageErr).
func (s *Store) write(ctx context.Context, fn func(t *tx) error) error {
	if s.w.sem == nil {
		return errNotOpened
	}
	select {
	case s.w.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	held := true
	release := func() {
		if held {
			held = false
			<-s.w.sem
		}
	}
	defer release() // fn may panic
	if s.closed.Load() {
		return store.ErrClosed
	}
	t := &tx{ctx: ctx, w: &s.w}
	err := retried(ctx, func() error { return t.attempt(fn) })
	// The writer is free again before dbErr asks the file system about a
	// refused write: a statfs on a mount that stopped answering must not
	// hold every other write.
	release()
	return s.dbErr(err)
}

// attempt runs fn in one transaction. Whatever ends it but a commit (an
// error, a panic in fn) rolls it back, without ctx, which may be what
// failed: the driver reports ctx's error for a statement during which
// ctx ended even if the statement ran, so a BEGIN that reported an error
// may have opened the transaction, and a transaction left open would hold
// the file's write lock for good. ROLLBACK with no transaction open fails
// harmlessly. The COMMIT is not cancelled: once it runs, the call's
// change is stored, and reporting ctx's error would say it was not.
func (t *tx) attempt(fn func(t *tx) error) (err error) {
	committed := false
	defer func() {
		if !committed {
			_, _ = t.w.conn.ExecContext(context.Background(), "ROLLBACK")
		}
	}()
	if _, err := t.exec("BEGIN IMMEDIATE"); err != nil {
		return err
	}
	if err := t.w.sameFile(); err != nil {
		return err
	}
	if err := fn(t); err != nil {
		return err
	}
	// Again before the COMMIT: a file moved or replaced while fn ran
	// (a write can take a while) would otherwise take this transaction's
	// change with it, acknowledged. What is left is the commit itself.
	if err := t.w.sameFile(); err != nil {
		return err
	}
	st, err := t.stmt("COMMIT")
	if err != nil {
		return err
	}
	if _, err := st.ExecContext(context.WithoutCancel(t.ctx)); err != nil {
		return err
	}
	committed = true
	return nil
}

// absPath is path made absolute against the working directory without
// cleaning it: the kernel and SQLite resolve ".." after a symlinked
// directory to the parent of the link's target, where filepath.Abs,
// which cleans lexically, would drop both and name another file.
func absPath(path string) string {
	if filepath.IsAbs(path) {
		return path
	}
	wd, err := os.Getwd()
	if err != nil {
		return path
	}
	return wd + string(filepath.Separator) + path
}

// ErrFileChanged reports that the store's path no longer names the file
// the store opened: the file was deleted, moved, or replaced (by a copy
// restored while the store was open, say). SQLite would go on writing to
// the file it holds open, which no later process sees: every write after
// that would be acknowledged and lost. The store's writes fail with it
// instead, checked as each write transaction starts and again before it
// commits (a move during the commit itself still takes that transaction
// with the file); close the store and open the path again (and build the
// engines on the new store). A file moved back in place takes writes
// again.
var ErrFileChanged = errors.New("sqlite: the database file was deleted or replaced while the store had it open")

// sameFile fails with [ErrFileChanged] when w.path no longer names the
// file w opened. Every write transaction checks it, holding the write
// lock, before it changes anything and again before it commits: a stat
// of the path.
func (w *writer) sameFile() error {
	if w.file == nil {
		return nil
	}
	fi, err := os.Stat(w.path)
	if err == nil && os.SameFile(fi, w.file) {
		return nil
	}
	what := "it names another file"
	if err != nil {
		what = err.Error()
	}
	return fmt.Errorf("%w: %q (%s): writes would be lost; close the store and open the path again", ErrFileChanged, w.path, what)
}

// fileTurn is the write turn the stores of this process share on one
// file.
type fileTurn struct {
	key   string
	sem   chan struct{}
	refs  int           // guarded by turnsMu
	files []os.FileInfo // the files the stores opened, as they found them; guarded by turnsMu
}

var (
	turnsMu sync.Mutex
	turns   = map[string]*fileTurn{}
	// openings are the Opens of the process that have handed, or are
	// about to hand, a file to SQLite, and whose stores have not yet
	// taken their turns: their connections may hold locks on it already.
	openings []*opening // guarded by turnsMu
)

// opening is an Open of the process on its way to taking its turn: from
// before SQLite opens the file (reserve) to after the store has taken
// its turn or Open has closed its connection (release).
type opening struct {
	name string      // the file's name, as SQLite opens it (sqliteName)
	file os.FileInfo // the file Open found at name; nil if it found none
}

// reserve records an Open about to hand SQLite the file at name, which
// it found as file (nil for none); turnsMu must be held.
func reserve(name string, file os.FileInfo) *opening {
	o := &opening{name: name, file: file}
	openings = append(openings, o)
	return o
}

// release ends the opening: its store has taken its turn, or its
// connection is closed.
func (o *opening) release() {
	turnsMu.Lock()
	defer turnsMu.Unlock()
	if i := slices.Index(openings, o); i >= 0 {
		openings = slices.Delete(openings, i, i+1)
	}
}

// opens reports whether the Open may have handed SQLite the file fi: the
// one it found, or the one its name has now (created, or put in the
// place of the one it found, since it looked).
func (o *opening) opens(fi os.FileInfo) bool {
	if o.file != nil && os.SameFile(o.file, fi) {
		return true
	}
	now, err := os.Stat(o.name)
	return err == nil && os.SameFile(now, fi)
}

// takeTurns returns the write turn of the file at path, shared with the
// other stores of the process opened on the same file by any path (made
// absolute without cleaning, as the open resolved it, then symbolic links
// resolved). file is the file the store opened, which heldOpen finds
// until the store releases the turn; nil if it could not be read.
func takeTurns(path string, file os.FileInfo) *fileTurn {
	key := absPath(path)
	if real, err := filepath.EvalSymlinks(key); err == nil {
		key = real
	}
	turnsMu.Lock()
	defer turnsMu.Unlock()
	t := turns[key]
	if t == nil {
		t = &fileTurn{key: key, sem: make(chan struct{}, 1)}
		turns[key] = t
	}
	t.refs++
	if file != nil {
		t.files = append(t.files, file)
	}
	return t
}

// release gives up a store's share of the turn, taken with file.
func (t *fileTurn) release(file os.FileInfo) {
	turnsMu.Lock()
	defer turnsMu.Unlock()
	if i := slices.Index(t.files, file); file != nil && i >= 0 {
		t.files = slices.Delete(t.files, i, i+1)
	}
	if t.refs--; t.refs == 0 {
		delete(turns, t.key)
	}
}

// heldOpen reports whether a store of this process has the file fi
// open, by any path, or an Open of the process is opening it; turnsMu
// must be held.
func heldOpen(fi os.FileInfo) bool {
	for _, t := range turns {
		for _, f := range t.files {
			if os.SameFile(f, fi) {
				return true
			}
		}
	}
	return slices.ContainsFunc(openings, func(o *opening) bool { return o.opens(fi) })
}
