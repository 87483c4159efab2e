package sqlite_test

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/campaignconnector/campaignconnector/store/sqlite"
)

// notADatabase is how Open's error says a file is not a database.
const notADatabase = "is not an SQLite database"

// openCase is a file Open is given: data, with besides files of the
// same name and another ending (a "-wal", say) in its directory.
type openCase struct {
	name    string
	data    []byte
	besides map[string][]byte
	want    string // a text Open's error holds; "" for none
	invalid bool   // Open's error is ErrInvalidPath
}

// text is n bytes of a configuration file.
func text(n int) []byte {
	return []byte(strings.Repeat("listen = 127.0.0.1:8080\n", n/24+1)[:n])
}

// dirFiles is the content of each file of dir, by name; that of a file
// that is not a regular one (a pipe, a directory), which is not read, is
// its type.
func dirFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			files[e.Name()] = []byte(e.Type().String())
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files[e.Name()] = b
	}
	return files
}

// openLeavesAll opens path, which must fail as c says, leaving every file
// of dir, and its list of files, as they were.
func openLeavesAll(t *testing.T, c openCase, path, dir string) {
	t.Helper()
	before := dirFiles(t, dir)
	s, err := sqlite.Open(context.Background(), path)
	if err == nil {
		s.Close()
		t.Fatalf("Open succeeded: the file is now the store's")
	}
	if c.invalid != errors.Is(err, sqlite.ErrInvalidPath) {
		t.Errorf("Open: %v; ErrInvalidPath %v, want %v", err, !c.invalid, c.invalid)
	}
	if !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), path) {
		t.Errorf("Open: %v, want %q and the path", err, c.want)
	}
	after := dirFiles(t, dir)
	if !maps.EqualFunc(before, after, bytes.Equal) {
		t.Errorf("Open changed the directory: %d files before, %d after", len(before), len(after))
		for name, b := range before {
			if a, ok := after[name]; !ok || !bytes.Equal(a, b) {
				t.Errorf("%s: %d bytes before, %d after (present %v)", name, len(b), len(a), ok)
			}
		}
		for name := range after {
			if _, ok := before[name]; !ok {
				t.Errorf("%s: left behind", name)
			}
		}
	}
}

// storeFiles returns a store's database, closed, and the write-ahead log
// it had while open, as a process killed with the store open leaves it.
func storeFiles(t *testing.T) (db, wal []byte) {
	t.Helper()
	path := testPath(t)
	s, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	schedule(t, s, "ns", "u", "p", t0)
	wal, err = os.ReadFile(path + "-wal")
	if err != nil || len(wal) == 0 {
		t.Fatalf("the store's write-ahead log: %d bytes, %v", len(wal), err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if db, err = os.ReadFile(path); err != nil {
		t.Fatal(err)
	}
	return db, wal
}

// hotJournal returns the rollback journal of a database a process was
// writing, left as it would be if the process were killed: SQLite rolls
// it back into the file of that name at the next open.
func hotJournal(t *testing.T) []byte {
	t.Helper()
	path := testPath(t)
	db := rawDB(t, path)
	db.SetMaxOpenConns(1)
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, "CREATE TABLE t (v BLOB); INSERT INTO t VALUES (zeroblob(10000))"); err != nil {
		t.Fatal(err)
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// A cache of one page spills the transaction's pages to the file,
	// through the journal, before it commits.
	if _, err := conn.ExecContext(ctx, "PRAGMA cache_size = 1; BEGIN; UPDATE t SET v = zeroblob(20000)"); err != nil {
		t.Fatal(err)
	}
	journal, err := os.ReadFile(path + "-journal")
	if err != nil || len(journal) == 0 {
		t.Fatalf("the journal: %d bytes, %v", len(journal), err)
	}
	if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	return journal
}

// TestOpenRefusesAFileThatIsNotADatabase checks that Open refuses an
// existing file that is not empty and does not start with SQLite's
// header, with ErrInvalidPath, before SQLite writes anything: the file,
// the files beside it and the directory's list stay as they were. SQLite
// would take a file of one byte (which its Unix layer counts as empty)
// for a new database and write one over it, and so would it any file
// beside the write-ahead log or the journal of another database of its
// name. A database cut short keeps SQLite's error.
func TestOpenRefusesAFileThatIsNotADatabase(t *testing.T) {
	db, wal := storeFiles(t)
	journal := hotJournal(t)
	nul := func(n int) []byte { return make([]byte, n) }
	notDB := func(name string, data []byte, besides map[string][]byte) openCase {
		return openCase{name: name, data: data, besides: besides, want: notADatabase, invalid: true}
	}
	cases := []openCase{
		notDB("1 byte", []byte("x"), nil),
		notDB("1 NUL byte", nul(1), nil),
		notDB("a newline", []byte("\n"), nil),
		notDB("15 bytes of the header", []byte("SQLite format 3"), nil),
		notDB("50 bytes", text(50), nil),
		notDB("99 bytes", text(99), nil),
		notDB("100 bytes", text(100), nil),
		notDB("511 bytes", text(511), nil),
		notDB("512 bytes", text(512), nil),
		notDB("600 bytes", text(600), nil),
		notDB("4096 bytes", text(4096), nil),
		notDB("4096 NUL bytes", nul(4096), nil),
		notDB("a page of NUL bytes, then a database", append(nul(4096), db...), nil),
		notDB("4096 bytes beside another database's write-ahead log", text(4096), map[string][]byte{"-wal": wal}),
		notDB("1 byte beside another database's write-ahead log", []byte("x"), map[string][]byte{"-wal": wal}),
		notDB("50 bytes beside another database's journal", text(50), map[string][]byte{"-journal": journal}),
		notDB("4096 bytes beside another database's journal", text(4096), map[string][]byte{"-journal": journal}),
		{name: "a database's first 100 bytes", data: db[:100], want: "database disk image is malformed"},
		{name: "a database's first page", data: db[:4096], want: "database disk image is malformed"},
		{name: "SQLite's header alone", data: db[:16], want: "file is not a database"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "app.conf")
			if err := os.WriteFile(path, c.data, 0o644); err != nil {
				t.Fatal(err)
			}
			for suffix, b := range c.besides {
				if err := os.WriteFile(path+suffix, b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			openLeavesAll(t, c, path, dir)
		})
	}
}

// TestOpenRecoversAFirstPageLostToAPowerLoss checks that Open leaves to
// SQLite a file whose header is zero bytes beside a rollback journal:
// what a power loss during a new database's first transaction can leave
// (the file's size stored, not its bytes), which SQLite rolls back.
func TestOpenRecoversAFirstPageLostToAPowerLoss(t *testing.T) {
	journal := hotJournal(t)
	path := testPath(t)
	if err := os.WriteFile(path, make([]byte, 4096), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+"-journal", journal, 0o644); err != nil {
		t.Fatal(err)
	}
	s := openStore(t, path)
	schedule(t, s, "ns", "u", "p", t0)
}

// TestOpenRefusesALinkToAFileThatIsNotADatabase checks that Open reads
// the file a link leads to, as SQLite would open it, and names the path
// it was given.
func TestOpenRefusesALinkToAFileThatIsNotADatabase(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "app.conf")
	if err := os.WriteFile(target, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "cc.db")
	if err := os.Symlink("app.conf", link); err != nil {
		t.Skip("no symbolic links:", err)
	}
	openLeavesAll(t, openCase{want: notADatabase, invalid: true}, link, dir)
}

// TestOpenRefusesADirectory checks that Open refuses a directory as it
// did, leaving it and what it holds as they were.
func TestOpenRefusesADirectory(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "cc.db")
	if err := os.Mkdir(path, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(path, "inside"), text(50), 0o644); err != nil {
		t.Fatal(err)
	}
	openLeavesAll(t, openCase{want: "is a directory", invalid: true}, path, dir)
	openLeavesAll(t, openCase{want: "is a directory", invalid: true}, path, path)
}

// TestOpenTakesAnEmptyFileForANewDatabase checks that an empty file,
// which SQLite takes for a new database, opens as one.
func TestOpenTakesAnEmptyFileForANewDatabase(t *testing.T) {
	path := testPath(t)
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	s := openStore(t, path)
	schedule(t, s, "ns", "u", "p", t0)
}

// TestOpenTakesADatabaseOfTheHosts checks that a database with tables of
// another application's opens, the store's tables added beside them,
// which keep their rows.
func TestOpenTakesADatabaseOfTheHosts(t *testing.T) {
	path := testPath(t)
	db := rawDB(t, path)
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, "CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('keep me')"); err != nil {
		t.Fatal(err)
	}
	s := openStore(t, path)
	schedule(t, s, "ns", "u", "p", t0)
	var body string
	if err := db.QueryRowContext(ctx, "SELECT body FROM notes").Scan(&body); err != nil || body != "keep me" {
		t.Errorf("the host's row: %q, %v", body, err)
	}
}

// TestOpenThatFailedStillReadsTheHeader checks that an Open that failed
// after it read the file's header, or a store closed (twice), leaves the
// process counting the file as open by none of its stores: the next Open
// of the file, become one that is not a database, reads its header and
// refuses it, rather than take it for the database a store has open and
// let SQLite write one over it.
func TestOpenThatFailedStillReadsTheHeader(t *testing.T) {
	db, _ := storeFiles(t)
	notDB := openCase{want: notADatabase, invalid: true}
	for _, c := range []struct {
		name string
		data []byte
	}{
		{"SQLite's header alone", db[:16]},     // SQLite refuses it as it opens
		{"a database's first page", db[:4096]}, // as the store sets it up
		{"a database closed twice", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "cc.db")
			if c.data != nil {
				if err := os.WriteFile(path, c.data, 0o644); err != nil {
					t.Fatal(err)
				}
				if s, err := sqlite.Open(context.Background(), path); err == nil {
					s.Close()
					t.Fatal("Open succeeded")
				}
			} else {
				s, err := sqlite.Open(context.Background(), path)
				if err != nil {
					t.Fatal(err)
				}
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
			}
			// The same file (truncated, not replaced), one byte long,
			// which SQLite takes for an empty database.
			if err := os.WriteFile(path, []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
			for _, name := range []string{"-wal", "-shm", "-journal"} {
				os.Remove(path + name)
			}
			openLeavesAll(t, notDB, path, dir)
		})
	}
}
