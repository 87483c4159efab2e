//go:build unix

package sqlite_test

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// envUnprivileged marks the child runUnprivileged starts.
const envUnprivileged = "CCMP_UNPRIVILEGED"

// unprivileged is the user and group ID the child runs as ("nobody").
const unprivileged = 65534

// runUnprivileged, when the process is root (who writes files whatever
// their modes), runs the test calling it again in a child process, the
// test binary run as the user and group 65534 without supplementary
// groups, and reports true: the child has run the test, whose outcome is
// the caller's (a failure fails it, a skip skips it), and the caller
// returns. The child gets a copy of the binary it may run and a temporary
// directory of its own (TMPDIR, HOME and its working directory), so that
// it needs nothing of the parent's directories. It reports false where the
// caller runs the test itself: not root, or the child. Where root cannot
// start a process as another user (no CAP_SETUID, a user namespace that
// maps no such user), it skips the test.
func runUnprivileged(t *testing.T) bool {
	t.Helper()
	if os.Geteuid() != 0 {
		return false
	}
	if os.Getenv(envUnprivileged) != "" {
		t.Fatalf("the child still runs as root")
	}
	dir, err := os.MkdirTemp("", "ccmp-unprivileged-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	home := filepath.Join(dir, "home")
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(home, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(home, unprivileged, unprivileged); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "sqlite.test")
	if err := copyExecutable(bin); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run=^"+t.Name()+"$", "-test.count=1", "-test.v")
	cmd.Dir = home
	cmd.Env = append(os.Environ(), envUnprivileged+"=1", "TMPDIR="+home, "HOME="+home)
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: &syscall.Credential{Uid: unprivileged, Gid: unprivileged, Groups: []uint32{}},
	}
	out, err := cmd.CombinedOutput()
	if cmd.ProcessState == nil {
		t.Skipf("cannot run the test as user %d: %v", unprivileged, err)
	}
	switch s := string(out); {
	case err != nil:
		t.Fatalf("the child, as user %d, failed (%v):\n%s", unprivileged, err, out)
	case strings.Contains(s, "--- SKIP: "+t.Name()):
		t.Skipf("the child, as user %d, skipped:\n%s", unprivileged, out)
	case !strings.Contains(s, "--- PASS: "+t.Name()):
		t.Fatalf("the child, as user %d, did not run the test:\n%s", unprivileged, out)
	}
	t.Logf("run as user %d", unprivileged)
	return true
}

// copyExecutable copies the running test binary to path, runnable by all.
func copyExecutable(path string) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	in, err := os.Open(self)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
