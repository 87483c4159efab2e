package sqlite_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/campaignconnector/campaignconnector/store/sqlite"
)

// A nil Option is refused with ErrInvalidOption, as connector.New refuses
// one, instead of panicking inside Open.
func TestOpenNilOption(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	s, err := sqlite.Open(context.Background(), path, sqlite.WithReaders(2), nil)
	if err == nil {
		s.Close()
		t.Fatal("Open with a nil option succeeded")
	}
	if !errors.Is(err, sqlite.ErrInvalidOption) || !strings.Contains(err.Error(), "nil option") {
		t.Fatalf("Open with a nil option: %v, want ErrInvalidOption naming the nil option", err)
	}
}

// SQLite reads the file name up to its first NUL byte: "a.db\x00b" opened
// a.db. A path holding one is refused with ErrInvalidPath, and nothing is
// created.
func TestOpenPathWithNUL(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"a.db\x00b", "\x00"} {
		s, err := sqlite.Open(context.Background(), filepath.Join(dir, name))
		if err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded", name)
			continue
		}
		if !errors.Is(err, sqlite.ErrInvalidPath) || !strings.Contains(err.Error(), "NUL") {
			t.Errorf("Open(%q): %v, want ErrInvalidPath naming the NUL byte", name, err)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("Open of paths with a NUL byte created %v", ents)
	}
}
