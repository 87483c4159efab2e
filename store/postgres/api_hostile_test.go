package postgres_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/campaignconnector/campaignconnector/store/postgres"
)

// A nil Option is refused with ErrInvalidOption, as connector.New refuses
// one, instead of panicking. The options are read before any connection
// is made, so no server is needed.
func TestNilOption(t *testing.T) {
	ctx := context.Background()
	s, err := postgres.Open(ctx, "postgres://nobody@127.0.0.1:1/none?connect_timeout=1", nil)
	if err == nil {
		s.Close()
		t.Fatal("Open with a nil option succeeded")
	}
	if !errors.Is(err, postgres.ErrInvalidOption) || !strings.Contains(err.Error(), "nil option") {
		t.Errorf("Open with a nil option: %v, want ErrInvalidOption naming the nil option", err)
	}
}

// Migrate refuses a nil pool as New does, instead of panicking.
func TestMigrateNilPool(t *testing.T) {
	err := postgres.Migrate(context.Background(), nil)
	if err == nil || !strings.Contains(err.Error(), "nil pool") {
		t.Fatalf("Migrate(nil pool): %v, want an error naming the nil pool", err)
	}
}

// Open refuses a nil context with an error: pgxpool would take it to a
// goroutine of its own, whose panic no caller can recover, and the
// process would die. No server is needed: it is refused first.
func TestOpenNilContext(t *testing.T) {
	var ctx context.Context // nil
	s, err := postgres.Open(ctx, "postgres://nobody@127.0.0.1:1/none")
	if err == nil {
		s.Close()
		t.Fatal("Open with a nil context succeeded")
	}
	if !strings.Contains(err.Error(), "nil context") {
		t.Errorf("Open with a nil context: %v, want an error naming it", err)
	}
}
