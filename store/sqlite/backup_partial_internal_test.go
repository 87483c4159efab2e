package sqlite

import (
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestPartialPathIsHiddenShortAndWhole checks that a backup's partial
// file is hidden beside the backup, and that its name, with SQLite's
// "-journal" after it, fits in 255 bytes and is valid UTF-8 (a file
// system that keeps names as UTF-8 refuses others) however long the
// backup's name.
func TestPartialPathIsHiddenShortAndWhole(t *testing.T) {
	for _, base := range []string{
		"b.db",
		strings.Repeat("a", 247),
		strings.Repeat("é", 123),
		"a" + strings.Repeat("😀", 61) + "b",
	} {
		path := filepath.Join("dir", base)
		partial, err := partialPath(path)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(partial)
		if filepath.Dir(partial) != "dir" || !strings.HasPrefix(name, ".") {
			t.Errorf("the partial file of %q is %q, want a hidden file in its directory", path, partial)
		}
		if len(name+"-journal") > 255 || !utf8.ValidString(name) {
			t.Errorf("the partial file of a %d-byte name is named %q (%d bytes)", len(base), name, len(name))
		}
		if len(base) <= partialBaseMax && !strings.HasPrefix(name, "."+base+".partial-") {
			t.Errorf("the partial file of %q is %q, want the name whole", base, name)
		}
	}
}
