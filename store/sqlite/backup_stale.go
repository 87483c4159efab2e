package sqlite

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// removeStale removes the partial files (with their journals) that
// backups to path left when their process ended before they did, those
// of backups still running excepted: a running backup holds its partial
// file locked (flock(2), hold) from just after it creates it until it
// ends, and one whose process ended holds nothing. Only on a file system
// whose locks the kernel keeps (locksAreLocal): a network file system's
// flock may be the server's byte-range lock, which SQLite's own locks on
// the file release, or one other hosts do not see, and there nothing is
// removed. Failures are ignored: what is left stays as before.
func removeStale(path string) {
	if !holdsLocks || !locksAreLocal(filepath.Dir(path)) {
		return
	}
	// Dir, not Split: Split gives "" for a name in the working directory,
	// which ReadDir does not read.
	prefix := partialPrefix(path)
	dir, start := filepath.Dir(prefix), filepath.Base(prefix)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return // a directory the process may write but not read
	}
	for _, e := range entries {
		if id, ok := strings.CutPrefix(e.Name(), start); ok && isPartialID(id) {
			removeIfDead(filepath.Join(dir, e.Name()))
		}
	}
}

// isPartialID reports whether id is the random part of a partial file's
// name: partialIDLen hexadecimal digits, as partialPath writes them.
func isPartialID(id string) bool {
	if len(id) != partialIDLen {
		return false
	}
	for _, c := range id {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// removeIfDead removes the partial file at partial, and its journal,
// once it holds the file locked, which no running backup then does, has
// seen no other process hold a lock of SQLite's kind (fcntl) on it, and
// has seen that the name still names the file it locked. It never opens
// the partial file of a backup of the process (livePartials): closing
// the descriptor would release the locks SQLite holds on the file for
// the process.
func removeIfDead(partial string) {
	fi, err := os.Lstat(partial)
	if err != nil || !fi.Mode().IsRegular() || livePartials.has(fi) {
		return
	}
	f, err := openEmpty(partial) // not through a link, nor waiting on a pipe
	if err != nil {
		return
	}
	defer f.Close()
	if locked, err := tryLock(f); err != nil || !locked || otherLocks(f) {
		return
	}
	held, err := f.Stat()
	if err != nil || !os.SameFile(held, fi) {
		return
	}
	if now, err := os.Lstat(partial); err != nil || !os.SameFile(now, held) {
		return
	}
	removePartial(partial)
}

// livePartials are the partial files of the backups of the process that
// are running.
var livePartials partialSet

// partialSet is a set of files, by their identity.
type partialSet struct {
	mu    sync.Mutex
	files map[string]fs.FileInfo
}

// add puts the file fi at path in the set and returns the function that
// takes it out.
func (p *partialSet) add(path string, fi fs.FileInfo) (remove func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.files == nil {
		p.files = map[string]fs.FileInfo{}
	}
	p.files[path] = fi
	return func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		delete(p.files, path)
	}
}

// has reports whether the file fi is in the set, by whatever name.
func (p *partialSet) has(fi fs.FileInfo) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, f := range p.files {
		if os.SameFile(f, fi) {
			return true
		}
	}
	return false
}
