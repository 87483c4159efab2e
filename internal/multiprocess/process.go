package multiprocess

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/internal/lifecyclekill"
	"github.com/campaignconnector/campaignconnector/store"
)

// ChildConfig is what a child process is told through its environment.
type ChildConfig struct {
	// Name names the child in the test's output and its files.
	Name string
	// Lease is the engines' lease; 0: the engine's default.
	Lease time.Duration
	// Batch is the engines' batch size; 0: the engine's default.
	Batch int
	// BlockAfter > 0 makes every send after that many hang: the message
	// went out, the provider's answer never comes.
	BlockAfter int
	// Announce makes the child say "sent ID user" for each send.
	Announce bool
	// Hold makes the engines run once released ([Process.Release]), not
	// once ready.
	Hold bool
	// Track, "from to batch", makes the child track users [from, to) with
	// TrackAll, batch events a call, and send nothing.
	Track string
	// Env is more of the child's environment ("KEY=value").
	Env []string
}

// Process is a running child process, seen from the parent.
type Process struct {
	name   string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan string   // its protocol lines, prefix removed; closed at EOF
	exited chan struct{} // closed once it has exited and its stdout is read
	err    error         // how it exited, once exited is closed
	sends  string        // its sends file
	stderr string        // its stderr, shown when the test fails
}

// Start starts a child process on the harness's database; the test's
// cleanup kills it if it still runs.
func (h *Harness) Start(cfg ChildConfig) *Process {
	t := h.T
	t.Helper()
	c := &Process{name: cfg.Name, lines: make(chan string, 1024), exited: make(chan struct{}),
		sends: filepath.Join(h.dir, cfg.Name+".sends"), stderr: filepath.Join(h.dir, cfg.Name+".stderr")}
	stderr, err := os.Create(c.stderr)
	require.NoError(t, err)
	defer stderr.Close()
	r, w, err := os.Pipe()
	require.NoError(t, err)
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1", "-test.timeout=10m")
	cmd.Env = append(os.Environ(),
		envRole+"=child", envNamespace+"="+h.NS, envSends+"="+c.sends,
		envLease+"="+cfg.Lease.String(), envBatch+"="+strconv.Itoa(cfg.Batch),
		envBlockAfter+"="+strconv.Itoa(cfg.BlockAfter), envAnnounce+"="+map[bool]string{true: "1"}[cfg.Announce],
		envHold+"="+map[bool]string{true: "1"}[cfg.Hold], envTrack+"="+cfg.Track)
	cmd.Env = append(cmd.Env, h.DB.Env...)
	cmd.Env = append(cmd.Env, cfg.Env...)
	cmd.Stdout, cmd.Stderr = w, stderr
	c.stdin, err = cmd.StdinPipe()
	require.NoError(t, err)
	err = cmd.Start()
	w.Close()
	if err != nil {
		r.Close()
		require.NoError(t, err)
	}
	c.cmd = cmd
	read := make(chan struct{})
	go func() {
		defer close(read)
		defer r.Close()
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			if line, ok := strings.CutPrefix(sc.Text(), linePrefix); ok {
				c.lines <- line
			}
		}
		close(c.lines)
	}()
	go func() {
		c.err = cmd.Wait()
		<-read
		close(c.exited)
	}()
	t.Cleanup(func() {
		c.Kill()
		if t.Failed() {
			out, _ := os.ReadFile(c.stderr)
			t.Logf("child %s (%v), stderr:\n%s", c.name, c.err, out)
		}
	})
	return c
}

// WaitLine waits for the child's next line of the given kind, skipping
// others, and returns the rest of it.
func (c *Process) WaitLine(t *testing.T, kind string, timeout time.Duration) string {
	t.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		select {
		case line, ok := <-c.lines:
			if !ok {
				<-c.exited
				t.Fatalf("child %s ended (%v) before saying %q", c.name, c.err, kind)
			}
			if k, rest, _ := strings.Cut(line, " "); k == kind {
				return rest
			}
		case <-timer.C:
			t.Fatalf("child %s did not say %q within %v", c.name, kind, timeout)
		}
	}
}

// Lines returns the child's protocol lines not yet read, closed at the
// end of its output.
func (c *Process) Lines() <-chan string { return c.lines }

// Release starts the engines of a child started with Hold.
func (c *Process) Release(t *testing.T) {
	t.Helper()
	_, err := io.WriteString(c.stdin, "go\n")
	require.NoError(t, err, "child %s", c.name)
}

// Stop closes the child's stdin, which ends its engines, and waits for it
// to exit cleanly.
func (c *Process) Stop(t *testing.T) {
	t.Helper()
	require.NoError(t, c.stdin.Close())
	select {
	case <-c.exited:
	case <-time.After(Stall):
		c.Kill()
		t.Fatalf("child %s did not stop within %v", c.name, Stall)
	}
	require.NoError(t, c.err, "child %s", c.name)
}

// Kill kills the child with SIGKILL, unless it exited, and waits for it.
func (c *Process) Kill() {
	select {
	case <-c.exited:
		return
	default:
	}
	_ = c.cmd.Process.Kill()
	<-c.exited
}

// Wait waits for the child to exit and returns how it exited.
func (c *Process) Wait() error {
	<-c.exited
	return c.err
}

// Logged reports whether the child's standard error, its log, holds
// text so far.
func (c *Process) Logged(t *testing.T, text string) bool {
	t.Helper()
	out, err := os.ReadFile(c.stderr)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Contains(string(out), text)
}

// SendsFile is the path of the file the child appends to.
func (c *Process) SendsFile() string { return c.sends }

// Records reads the child's sends file, split into fields. A line the
// child was writing when killed may be cut short: it is dropped.
func (c *Process) Records(t *testing.T) [][]string {
	t.Helper()
	data, err := os.ReadFile(c.sends)
	require.NoError(t, err)
	var out [][]string
	for line := range strings.Lines(string(data)) {
		if !strings.HasSuffix(line, "\n") {
			break
		}
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		want := map[string]int{"claim": 3, "sent": 5, "done": 2, "acked": 4}[f[0]]
		require.NotZero(t, want, "line %q", line)
		require.Len(t, f, want, "line %q", line)
		out = append(out, f)
	}
	return out
}

var _ lifecyclekill.Child = (*Process)(nil)

// Lifecycle returns a database of t's own for the lifecycle crash tests
// of package lifecyclekill, whose children are [HelperProcess]'s.
func Lifecycle(t *testing.T, newDB NewDatabase) lifecyclekill.Database {
	return lifecycleDB{&Harness{T: t, DB: newDB(t), NS: "lc", dir: t.TempDir()}}
}

// lifecycleDB is a harness as the lifecycle crash tests see it.
type lifecycleDB struct{ h *Harness }

func (d lifecycleDB) Open() store.Store { return d.h.DB.Open() }

func (d lifecycleDB) Start(name string, env []string) lifecyclekill.Child {
	return d.h.Start(ChildConfig{Name: name, Env: env})
}
