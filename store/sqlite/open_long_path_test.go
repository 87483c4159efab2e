//go:build unix

package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/campaignconnector/campaignconnector/store/sqlite"
	msqlite "modernc.org/sqlite"
)

// physicalTempDir is a new temporary directory, its path with no links
// on the way (as SQLite makes it: macOS's /var is a link).
func physicalTempDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// deepDir makes, under dir, directories of names of at most 255 bytes
// and returns the deepest, whose path is n bytes long.
func deepDir(t *testing.T, dir string, n int) string {
	t.Helper()
	rem := n - len(dir)
	if rem < 2 {
		t.Fatalf("%q is longer than %d bytes", dir, n-2)
	}
	for rem > 0 {
		c := min(rem-1, 200)
		if rem-1-c == 1 { // leave room for a last "/x"
			c--
		}
		dir = filepath.Join(dir, strings.Repeat("d", c))
		rem -= c + 1
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// deepFile returns a path n bytes long under dir, of a file (not made)
// whose name has base bytes, making the directories on the way.
func deepFile(t *testing.T, dir string, n, base int) string {
	t.Helper()
	return filepath.Join(deepDir(t, dir, n-base-1), strings.Repeat("f", base))
}

// wantFullPathRefused checks that err is ErrInvalidPath naming path and
// saying length (how long its full path is, and the limit), and that
// SQLite's error is in its chain.
func wantFullPathRefused(t *testing.T, err error, path, length, what string) {
	t.Helper()
	var e *msqlite.Error
	if !errors.Is(err, sqlite.ErrInvalidPath) || !errors.As(err, &e) ||
		!strings.Contains(err.Error(), fmt.Sprintf("%q", path)) || !strings.Contains(err.Error(), length) {
		t.Errorf("%s: %v, want ErrInvalidPath naming the path and saying %q, with SQLite's error in its chain", what, err, length)
	}
}

// tooLong is what the error of a file whose full path is n bytes long
// says of it.
func tooLong(n int) string {
	return fmt.Sprintf("is %d bytes long, and may be at most 504", n)
}

// onTheWay is what the error of a file whose full path reaches most
// bytes on the way, and ends n bytes long, says of it.
func onTheWay(most, n int) string {
	return fmt.Sprintf("reaches %d bytes on the way, before a \"..\" or a link shortens it to %d, and SQLite fails on a full path of 512 bytes or more", most, n)
}

// openFullPathRefused opens path and checks that Open fails as
// wantFullPathRefused says, and that dir holds what it held before.
func openFullPathRefused(t *testing.T, dir, path, length, what string) {
	t.Helper()
	before, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	s, err := sqlite.Open(context.Background(), path)
	if err == nil {
		s.Close()
	}
	wantFullPathRefused(t, err, path, length, what+": Open")
	if after, err := os.ReadDir(dir); err != nil || len(after) != len(before) {
		t.Errorf("%s, refused, left %v (%v), had %v", what, after, err, before)
	}
}

// TestOpenRefusesAFullPathTooLong checks that Open of a file whose full
// path is longer than 504 bytes fails with ErrInvalidPath naming the
// path, its length and the limit, where SQLite says only "unable to open
// database file": it takes full paths of up to 512 bytes, and the
// journal's is the database's with "-journal" (8 bytes) after it. A new
// file of 504 bytes works (its write-ahead log's, with "-wal", fits), and
// so does an existing one; one of 505 is refused, new or existing, and
// nothing is made.
func TestOpenRefusesAFullPathTooLong(t *testing.T) {
	for _, n := range []int{505, 511, 512, 513, 600} {
		dir := physicalTempDir(t)
		path := deepFile(t, dir, n, 20)
		openFullPathRefused(t, filepath.Dir(path), path, tooLong(n), fmt.Sprintf("a new file of %d bytes", n))
	}
	reopens(t, deepFile(t, physicalTempDir(t), 504, 20), 1, "a new file of 504 bytes")

	dir := deepDir(t, physicalTempDir(t), 504-21)
	path := copyRenamed(t, dir, strings.Repeat("w", 20), true)
	reopens(t, path, 2, "a store's file renamed to a full path of 504 bytes")
	dir = deepDir(t, physicalTempDir(t), 505-21)
	path = copyRenamed(t, dir, strings.Repeat("w", 20), true)
	openFullPathRefused(t, dir, path, tooLong(505), "a store's file renamed to a full path of 505 bytes")
}

// TestOpenMeasuresTheFullPathAsSQLiteMakesIt checks that Open measures the
// full path SQLite makes: a relative path after the working directory,
// and a link followed to where it leads, so that a short path to a file
// whose full path is too long is refused, naming that full path.
func TestOpenMeasuresTheFullPathAsSQLiteMakesIt(t *testing.T) {
	deep := deepDir(t, physicalTempDir(t), 500)
	t.Chdir(deep)
	openFullPathRefused(t, ".", "abcd", tooLong(505), "a relative path of a new file whose full path has 505 bytes")
	reopens(t, "./abc", 1, "a relative path of a new file whose full path has 504 bytes")

	dir := t.TempDir()
	link := filepath.Join(dir, "link")
	if err := os.Symlink(deep, link); err != nil {
		t.Skipf("no symbolic links: %v", err)
	}
	path := filepath.Join(link, "new.db")
	openFullPathRefused(t, deep, path, tooLong(507), "a short path through a link to a deep directory")
	s, err := sqlite.Open(context.Background(), path)
	if err == nil {
		s.Close()
	}
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("%q", filepath.Join(deep, "new.db"))) {
		t.Errorf("Open through a link: %v, want the error to name the full path SQLite makes", err)
	}
}

// TestOpenRefusesAPathTooLongOnTheWay checks that Open fails with
// ErrInvalidPath when the full path SQLite makes reaches 512 bytes on
// the way, even though ".." shortens it afterwards: SQLite fails there.
// 511 bytes on the way works.
func TestOpenRefusesAPathTooLongOnTheWay(t *testing.T) {
	for _, c := range []struct {
		most int
		ok   bool
	}{{511, true}, {512, false}} {
		dir := physicalTempDir(t)
		up := deepDir(t, dir, c.most)
		path := up + "/../x.db" // not joined: Join would drop the ".."
		full := filepath.Join(filepath.Dir(up), "x.db")
		if c.ok {
			reopens(t, path, 1, fmt.Sprintf("a path reaching %d bytes on the way", c.most))
			if _, err := os.Stat(full); err != nil {
				t.Errorf("the database is not where the path leads: %v", err)
			}
			continue
		}
		openFullPathRefused(t, filepath.Dir(full), path,
			onTheWay(c.most, len(full)),
			fmt.Sprintf("a path reaching %d bytes on the way", c.most))
	}

	// A link's name counts too, before the link is followed.
	for _, c := range []struct {
		most int
		ok   bool
	}{{511, true}, {512, false}} {
		dir := physicalTempDir(t)
		deep := deepDir(t, dir, c.most-12)
		link := filepath.Join(deep, "link-to-dir")
		if err := os.Symlink(dir, link); err != nil {
			t.Skipf("no symbolic links: %v", err)
		}
		path := filepath.Join(link, "x.db")
		if c.ok {
			reopens(t, path, 1, fmt.Sprintf("a path through a link reaching %d bytes on the way", c.most))
			continue
		}
		openFullPathRefused(t, dir, path,
			onTheWay(c.most, len(dir)+5),
			fmt.Sprintf("a path through a link reaching %d bytes on the way", c.most))
	}
}
