package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/campaignconnector/campaignconnector/store/sqlite"
	msqlite "modernc.org/sqlite"
)

// openRefused opens path and checks that Open fails with ErrInvalidPath,
// its text naming path and the limit want, and that the directory dir
// then holds only what it held before.
func openRefused(t *testing.T, dir, path, want, what string) {
	t.Helper()
	before, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	s, err := sqlite.Open(context.Background(), path)
	if err == nil {
		s.Close()
	}
	if !errors.Is(err, sqlite.ErrInvalidPath) || !strings.Contains(err.Error(), fmt.Sprintf("%q", path)) ||
		!strings.Contains(err.Error(), "at most "+want) {
		t.Errorf("%s: Open: %v, want ErrInvalidPath naming the path and saying %q", what, err, "at most "+want)
	}
	if after, err := os.ReadDir(dir); err != nil || len(after) != len(before) {
		t.Errorf("%s, refused, left %v (%v), had %v", what, after, err, before)
	}
}

// reopens opens the database at path, tracks a delivery in it, closes it
// and opens it again, and checks that it holds every delivery tracked in
// it (the number of times it was given to reopens).
func reopens(t *testing.T, path string, want int, what string) {
	t.Helper()
	ctx := context.Background()
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Errorf("%s: Open: %v", what, err)
		return
	}
	schedule(t, s, "ns", fmt.Sprint("u", want), fmt.Sprint("p", want), t0)
	if err := s.Close(); err != nil {
		t.Errorf("%s: Close: %v", what, err)
	}
	s = openStore(t, path)
	if n, err := s.PendingCount(ctx, "ns"); err != nil || n != int64(want) {
		t.Errorf("%s, reopened: %d pending deliveries (%v), want %d", what, n, err, want)
	}
}

// TestOpenRefusesANewFileWithANameTooLong checks that Open refuses, with
// ErrInvalidPath naming the path and the 247-byte limit, to create a
// database whose name is longer than 247 bytes, and creates nothing: the
// file system takes names of up to 255 bytes, but SQLite writes a new
// file through its journal, whose name is 8 bytes longer ("-journal"),
// and would fail with a bare "unable to open database file", leaving an
// empty file behind. A name of 247 bytes works, relative and through
// "." components too.
func TestOpenRefusesANewFileWithANameTooLong(t *testing.T) {
	for _, n := range []int{248, 251, 252, 255, 256} {
		dir := t.TempDir()
		path := filepath.Join(dir, strings.Repeat("a", n-3)+".db")
		openRefused(t, dir, path, "247", fmt.Sprintf("a new database named with %d bytes", n))
	}
	dir := t.TempDir()
	reopens(t, filepath.Join(dir, strings.Repeat("a", 244)+".db"), 1, "a new database named with 247 bytes")

	t.Chdir(t.TempDir())
	if err := os.Mkdir("sub", 0o755); err != nil {
		t.Fatal(err)
	}
	openRefused(t, "sub", "sub/./"+strings.Repeat("r", 248), "247", "a relative path to a new 248-byte name")
	reopens(t, "./sub/./"+strings.Repeat("r", 247), 1, "a relative path to a new 247-byte name")
}

// copyRenamed makes a database in dir under a short name, in write-ahead
// log mode (a store's, holding one delivery) when wal, else in SQLite's default rollback mode
// with one table, and renames it to name, as a user or a tool may.
func copyRenamed(t *testing.T, dir, name string, wal bool) string {
	t.Helper()
	short := filepath.Join(dir, "short.db")
	if wal {
		s, err := sqlite.Open(context.Background(), short)
		if err != nil {
			t.Fatal(err)
		}
		schedule(t, s, "ns", "u1", "p1", t0)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	} else {
		db, err := sql.Open("sqlite", short)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec("CREATE TABLE host_table (x)"); err != nil {
			t.Fatal(err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, name)
	if err := os.Rename(short, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestOpenOfAnExistingFileWithALongName checks what Open does with a file
// whose name is longer than 247 bytes, made under a shorter name and
// renamed. The store keeps its file in write-ahead-log mode, whose files
// beside it end in "-wal" and "-shm", 4 bytes: a file already in that
// mode opens with a name of up to 251 bytes, and works. A longer name is
// refused with ErrInvalidPath naming the 251-byte limit; so is a file in
// rollback mode with a name of 248 to 251 bytes, naming the 247-byte
// limit: putting it in write-ahead-log mode needs its journal.
func TestOpenOfAnExistingFileWithALongName(t *testing.T) {
	for _, n := range []int{248, 251} {
		path := copyRenamed(t, t.TempDir(), strings.Repeat("w", n), true)
		reopens(t, path, 2, fmt.Sprintf("a store's database renamed to %d bytes", n))
	}
	for _, n := range []int{252, 255} {
		dir := t.TempDir()
		path := copyRenamed(t, dir, strings.Repeat("w", n), true)
		openRefused(t, dir, path, "251", fmt.Sprintf("a store's database renamed to %d bytes", n))
	}
	for _, n := range []int{248, 251} {
		dir := t.TempDir()
		path := copyRenamed(t, dir, strings.Repeat("r", n), false)
		openRefused(t, dir, path, "247", fmt.Sprintf("a database in rollback mode renamed to %d bytes", n))
	}
}

// TestOpenOfALongNameInRollbackModeKeepsSQLitesError checks that the
// ErrInvalidPath of a file in rollback mode whose name is too long for
// its journal keeps SQLite's error in its chain, as Open's other errors
// from SQLite do: a caller looking for it with errors.As finds it.
func TestOpenOfALongNameInRollbackModeKeepsSQLitesError(t *testing.T) {
	path := copyRenamed(t, t.TempDir(), strings.Repeat("r", 250), false)
	s, err := sqlite.Open(context.Background(), path)
	if err == nil {
		s.Close()
		t.Fatal("opened")
	}
	var e *msqlite.Error
	if !errors.Is(err, sqlite.ErrInvalidPath) || !errors.As(err, &e) ||
		!strings.Contains(err.Error(), "unable to open database file") {
		t.Errorf("Open: %v, want ErrInvalidPath with SQLite's error in its chain", err)
	}
}

// TestOpenMeasuresTheNameALinkLeadsTo checks that Open measures the name
// SQLite names the files beside the database after: that of the file a
// link leads to. A long link to a new file of a short name works; a short
// link to a file of a name too long is refused.
func TestOpenMeasuresTheNameALinkLeadsTo(t *testing.T) {
	dir := t.TempDir()
	long := filepath.Join(dir, strings.Repeat("l", 252))
	if err := os.Symlink("short.db", long); err != nil {
		t.Skipf("no symbolic links: %v", err)
	}
	reopens(t, long, 1, "a 252-byte link to a new file named short.db")

	dir = t.TempDir()
	target := copyRenamed(t, dir, strings.Repeat("t", 252), true)
	link := filepath.Join(dir, "link.db")
	if err := os.Symlink(filepath.Base(target), link); err != nil {
		t.Fatal(err)
	}
	openRefused(t, dir, link, "251", "a link to a database renamed to 252 bytes")

	dir = t.TempDir()
	link = filepath.Join(dir, "link.db")
	if err := os.Symlink(strings.Repeat("n", 248), link); err != nil {
		t.Fatal(err)
	}
	openRefused(t, dir, link, "247", "a link to a new file named with 248 bytes")
}

// TestOpenFollowsALinkOutOfALinkedDirectory checks that Open measures the
// name of the file a link leads to as the system finds it when the link's
// target climbs out of a directory reached through another link
// ("linked/lnk" to "../target.db", linked a link to "real/deep"): ".."
// leads out of real/deep, not out of linked. A short name found there
// works, even when a link of the same name beside linked leads to a name
// too long; a name too long found there is refused, and nothing made.
func TestOpenFollowsALinkOutOfALinkedDirectory(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "real", "deep"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, l := range [][2]string{
		{filepath.Join("real", "deep"), filepath.Join(dir, "linked")},
		{filepath.Join("..", "target.db"), filepath.Join(dir, "real", "deep", "lnk")},
		{strings.Repeat("x", 250), filepath.Join(dir, "target.db")},
	} {
		if err := os.Symlink(l[0], l[1]); err != nil {
			t.Skipf("no symbolic links: %v", err)
		}
	}
	path := filepath.Join(dir, "linked", "lnk")
	reopens(t, path, 1, "a link out of a linked directory to a new short name")
	if _, err := os.Stat(filepath.Join(dir, "real", "target.db")); err != nil {
		t.Errorf("the database is not where the link leads: %v", err)
	}

	dir = t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "real", "deep"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, l := range [][2]string{
		{filepath.Join("real", "deep"), filepath.Join(dir, "linked")},
		{filepath.Join("..", "target.db"), filepath.Join(dir, "real", "deep", "lnk")},
		{strings.Repeat("x", 250), filepath.Join(dir, "real", "target.db")},
	} {
		if err := os.Symlink(l[0], l[1]); err != nil {
			t.Fatal(err)
		}
	}
	openRefused(t, filepath.Join(dir, "real"), filepath.Join(dir, "linked", "lnk"), "247",
		"a link out of a linked directory to a new name of 250 bytes")
}
