package sqlite

import (
	"crypto/rand"
	"encoding/hex"
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

// partialPath returns the name of the file a backup to path is written
// to before it takes path's name: hidden, in path's directory (so that
// renaming it is atomic), and of this backup only. A long name of path
// is cut short in it, at the start of a character.
func partialPath(path string) (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	dir, base := filepath.Split(path)
	if len(base) > partialBaseMax {
		n := partialBaseMax
		for n > 0 && !utf8.RuneStart(base[n]) {
			n--
		}
		base = base[:n]
	}
	return filepath.Join(dir, "."+base+".partial-"+hex.EncodeToString(b[:])), nil
}

// createPartial creates the file the copy is written to, exclusively,
// with the mode SQLite gives the files it creates, or, when an empty
// file is at path (empty, from checkBackupTarget), with that file's
// permissions and, as far as the process may give them, its owner and
// group (takeOn): a host that made the file for the backup chose who may
// read it. An error the operating system gives (a directory the process
// may not write) is its own, with the backup's path. It returns what the
// system says of the file it made, which lostPartial looks for.
func createPartial(path, partial string, empty fs.FileInfo) (fs.FileInfo, error) {
	mode := fs.FileMode(0o644)
	if empty != nil {
		mode = 0o600 // until it has the empty file's
	}
	f, err := os.OpenFile(partial, os.O_RDWR|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return nil, fmt.Errorf("sqlite: backup %q: %w", path, err)
	}
	made, err := f.Stat()
	f.Close()
	if err == nil {
		err = takeOn(partial, empty)
	}
	if err != nil {
		removePartial(partial)
		return nil, fmt.Errorf("sqlite: backup %q: %w", path, err)
	}
	return made, nil
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
// journal SQLite may have left beside it.
func removePartial(partial string) {
	os.Remove(partial)
	os.Remove(partial + "-journal")
}
