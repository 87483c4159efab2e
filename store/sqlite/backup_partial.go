package sqlite

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"unicode/utf8"
)

// partialBaseMax bounds the bytes of path's name that the name of its
// partial file repeats: the partial name adds 26 bytes to them, and
// SQLite's journal of it 8 more, which must stay within the 255 bytes a
// name may have on most file systems, so that a name a backup could take
// when written in place is one it can take through a partial file.
const partialBaseMax = 200

// partialIDLen is the length of the random part that ends the name of
// a partial file: 8 bytes in hexadecimal.
const partialIDLen = 16

// partialPrefix is the start of the names of the partial files of
// backups to path, in path's directory: "." and path's name, cut short if
// long (at the start of a character), and ".partial-".
func partialPrefix(path string) string {
	dir, base := filepath.Split(path)
	if len(base) > partialBaseMax {
		n := partialBaseMax
		for n > 0 && !utf8.RuneStart(base[n]) {
			n--
		}
		base = base[:n]
	}
	return filepath.Join(dir, "."+base+partialTag)
}

// partialTag comes, in a partial file's name, between the name of the
// backup's path and the random part.
const partialTag = ".partial-"

// partialPath returns the name of the file a backup to path is written
// to before it takes path's name: hidden, in path's directory (so that
// renaming it is atomic), and of this backup only (partialPrefix, then
// partialIDLen random hexadecimal digits).
func partialPath(path string) (string, error) {
	var b [partialIDLen / 2]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return partialPrefix(path) + hex.EncodeToString(b[:]), nil
}

// errPartialTaken reports a partial file that another backup's
// removeStale locked, to remove it, before its own backup did.
var errPartialTaken = errors.New("the partial file was taken for a dead backup's")

// newPartial creates the partial file of a backup to path under a new
// name (partialPath, createPartial), trying another name in the rare case
// that another backup's removeStale took the file (errPartialTaken)
// before this one held it. release ends the hold on the file: call it
// once the file is removed or has path's name.
func newPartial(path string, empty fs.FileInfo) (partial string, made fs.FileInfo, release func(), err error) {
	for range 3 {
		if partial, err = partialPath(path); err != nil {
			return "", nil, nil, wrap("backup", err)
		}
		made, release, err = createPartial(path, partial, empty)
		if !errors.Is(err, errPartialTaken) {
			break
		}
	}
	return partial, made, release, err
}

// createPartial creates the file the copy is written to, exclusively,
// with the mode SQLite gives the files it creates, or, when an empty
// file is at path (empty, from checkBackupTarget), with that file's
// permissions and, as far as the process may give them, its owner and
// group (takeOn): a host that made the file for the backup chose who may
// read it. It holds the file locked (hold) until release is called. An
// error the operating system gives (a directory the process may not
// write) is its own, with the backup's path. It returns what the system
// says of the file it made, which lostPartial looks for.
func createPartial(path, partial string, empty fs.FileInfo) (made fs.FileInfo, release func(), err error) {
	mode := fs.FileMode(0o644)
	if empty != nil {
		mode = 0o600 // until it has the empty file's
	}
	f, err := os.OpenFile(partial, os.O_RDWR|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return nil, nil, fmt.Errorf("sqlite: backup %q: %w", path, err)
	}
	if made, err = f.Stat(); err == nil {
		release, err = hold(f, partial, made)
	}
	if err == nil {
		err = takeOn(partial, empty)
	}
	if err != nil {
		if release != nil {
			release()
		} else {
			f.Close()
		}
		if !errors.Is(err, errPartialTaken) {
			removePartial(partial)
		}
		return nil, nil, fmt.Errorf("sqlite: backup %q: %w", path, err)
	}
	return made, release, nil
}

// hold keeps f, the file just made at partial, open and locked (tryLock)
// while its backup runs, and in livePartials, so that no other backup's
// removeStale takes it for a dead backup's; release closes it. It fails
// with errPartialTaken if a removeStale locked the file first, or
// removed it. Where the system has no flock(2), it closes f at once.
func hold(f *os.File, partial string, made fs.FileInfo) (release func(), err error) {
	if !holdsLocks {
		f.Close()
		return func() {}, nil
	}
	forget := livePartials.add(partial, made)
	release = func() {
		f.Close()
		forget()
	}
	// A file system without locks is one on which removeStale removes
	// nothing: the file is held open only.
	if locked, err := tryLock(f); err == nil && !locked {
		return release, errPartialTaken
	}
	if now, err := os.Lstat(partial); err != nil || !os.SameFile(now, made) {
		return release, errPartialTaken
	}
	return release, nil
}

// takeOn gives the file at partial the permissions of empty, the empty
// file it is to replace, and its owner and group where the process may
// (sameOwner). With no empty file, it changes nothing.
func takeOn(partial string, empty fs.FileInfo) error {
	if empty == nil {
		return nil
	}
	sameOwner(partial, empty)
	return os.Chmod(partial, empty.Mode().Perm())
}

// removePartial removes the partial file of a backup that failed, and the
// journal SQLite may have left beside it, the journal first: a process
// cut short between the two leaves the partial file, which removeStale
// knows, rather than the journal alone.
func removePartial(partial string) {
	os.Remove(partial + "-journal")
	os.Remove(partial)
}
