//go:build unix

package sqlite_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/campaignconnector/campaignconnector/store/sqlite"
)

// TestOpenRefusesAPipeOrADeviceAsItDid checks that Open refuses a pipe,
// without waiting for a writer, and /dev/null with the error it gave
// before it read a file's header, leaving them as they were.
func TestOpenRefusesAPipeOrADeviceAsItDid(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	notRegular := openCase{want: "is not a regular file", invalid: true}
	openLeavesAll(t, notRegular, fifo, dir)
	s, err := sqlite.Open(context.Background(), os.DevNull)
	if err == nil {
		s.Close()
	}
	if !errors.Is(err, sqlite.ErrInvalidPath) || !strings.Contains(err.Error(), notRegular.want) || !strings.Contains(err.Error(), os.DevNull) {
		t.Errorf("Open(%q): %v, want ErrInvalidPath saying %q", os.DevNull, err, notRegular.want)
	}
	if fi, err := os.Stat(os.DevNull); err != nil || fi.Mode()&fs.ModeCharDevice == 0 {
		t.Errorf("%s is no longer a device: %v", os.DevNull, err)
	}
}
