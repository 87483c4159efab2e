package sqlite_test

import (
	"context"
	"errors"
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
