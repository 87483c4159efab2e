package postgres_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store/postgres"
	"github.com/stretchr/testify/require"
)

// multiProcess is the parent's side: a schema of the test's own, an
// engine that schedules without sending, and the children.
type multiProcess struct {
	t      *testing.T
	schema string
	ns     string
	dir    string
	engine *connector.Engine

	mu        sync.Mutex
	scheduled map[string]string // delivery ID → user, as the parent's engine decided
}

// mpCampaigns: a reminder sent as soon as the push of "abandoned_cart" is
// received.
func mpCampaigns() []rule.Campaign {
	return []rule.Campaign{
		{ID: "abandoned_cart"},
		{ID: "cart_reminder", Triggers: []rule.Trigger{{Kind: event.PushReceived, CampaignID: "abandoned_cart"}},
			Message: json.RawMessage(`{"title":"Still thinking it over?"}`)},
	}
}

func mpUser(i int) string { return fmt.Sprintf("user-%06d", i) }

func newMultiProcess(t *testing.T) *multiProcess {
	t.Helper()
	h := &multiProcess{t: t, schema: testSchema(t), ns: "mp-" + t.Name(), dir: t.TempDir(), scheduled: map[string]string{}}
	s := openStore(t, postgres.WithSchema(h.schema))
	observe := connector.ObserverFunc(func(d rule.Decision) {
		if d.Kind == rule.Scheduled {
			h.mu.Lock()
			h.scheduled[d.DeliveryID] = d.UserID
			h.mu.Unlock()
		}
	})
	never := connector.SenderFunc(func(context.Context, connector.Delivery) error {
		t.Error("the parent's engine sent a delivery: only the children should")
		return errors.New("the parent does not send")
	})
	var err error
	h.engine, err = connector.New(s, never, connector.WithNamespace(h.ns), connector.WithObserver(observe))
	require.NoError(t, err)
	ctx := context.Background()
	for _, c := range mpCampaigns() {
		require.NoError(t, h.engine.Save(ctx, c))
	}
	require.NoError(t, h.engine.Publish(ctx, "abandoned_cart"))
	require.NoError(t, h.engine.Publish(ctx, "cart_reminder"))
	return h
}

// track schedules the deliveries of users [from, to) from 8 goroutines.
func (h *multiProcess) track(ctx context.Context, from, to int) error {
	const workers = 8
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := from + w; i < to; i += workers {
				ev := event.Event{ID: fmt.Sprint("rcv-", i), UserID: mpUser(i), Kind: event.PushReceived, CampaignID: "abandoned_cart"}
				if err := h.engine.Track(ctx, ev); err != nil {
					errs[w] = err
					return
				}
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// mpStall is how long the multi-process tests wait for something that
// should happen (a child starting, a delivery being sent) before they call
// it a hang. It bounds a wait for progress, never the time the work takes:
// a loaded machine makes the tests slower, not failed.
const mpStall = 3 * time.Minute

// waitAllSent polls the store until no delivery is pending: all were
// recorded as sent. It fails if the number pending stops going down for
// mpStall.
func (h *multiProcess) waitAllSent() {
	h.t.Helper()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	last, moved := int64(-1), time.Now()
	for {
		st, err := h.engine.Stats(context.Background())
		require.NoError(h.t, err)
		if st.Pending == 0 {
			return
		}
		if st.Pending != last {
			last, moved = st.Pending, time.Now()
		}
		if time.Since(moved) > mpStall {
			h.t.Fatalf("%d deliveries still pending, none sent for %v", st.Pending, mpStall)
		}
		<-tick.C
	}
}

func (h *multiProcess) requireScheduled(n int) {
	h.t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	require.Len(h.t, h.scheduled, n, "one delivery scheduled per user")
}

// send is one line of a child's sends file.
type send struct {
	proc    string
	id      string
	user    string
	attempt int
	at      time.Time
}

// readSends reads the "sent" lines of the children's files.
func (h *multiProcess) readSends(children ...*child) []send {
	h.t.Helper()
	var out []send
	for _, c := range children {
		for _, f := range c.readLines(h.t) {
			if f[0] != "sent" {
				continue
			}
			attempt, err := strconv.Atoi(f[3])
			require.NoError(h.t, err)
			ns, err := strconv.ParseInt(f[4], 10, 64)
			require.NoError(h.t, err)
			out = append(out, send{proc: c.name, id: f[1], user: f[2], attempt: attempt, at: time.Unix(0, ns)})
		}
	}
	return out
}

// heldAtDeath returns, from a killed child's file, the deliveries it
// had claimed and not recorded, with the end of its lease, and those of
// them it had sent.
func heldAtDeath(t *testing.T, c *child) (held map[string]time.Time, sent map[string]bool) {
	held, sent = map[string]time.Time{}, map[string]bool{}
	for _, f := range c.readLines(t) {
		switch f[0] {
		case "claim":
			ns, err := strconv.ParseInt(f[2], 10, 64)
			require.NoError(t, err)
			held[f[1]] = time.Unix(0, ns)
		case "sent":
			sent[f[1]] = true
		case "done":
			delete(held, f[1])
			delete(sent, f[1])
		}
	}
	for id := range sent {
		require.Contains(t, held, id, "a send follows a claim")
	}
	return held, sent
}

func sendCounts(sends []send) map[string]int {
	out := make(map[string]int, len(sends))
	for _, s := range sends {
		out[s.id]++
	}
	return out
}

func sendsOf(sends []send, id string) []send {
	var out []send
	for _, s := range sends {
		if s.id == id {
			out = append(out, s)
		}
	}
	return out
}

func findSend(sends []send, proc, id string) *send {
	for i := range sends {
		if sends[i].proc == proc && sends[i].id == id {
			return &sends[i]
		}
	}
	return nil
}

// childConfig is what a child process is told through its environment.
type childConfig struct {
	name       string
	lease      time.Duration // 0: the engine's default
	batch      int           // 0: the engine's default
	blockAfter int
	announce   bool
	hold       bool     // the engines run once released ([child.release]), not once ready
	env        []string // more of the child's environment ("KEY=value")
}

// child is a running child process, seen from the parent.
type child struct {
	name   string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan string   // its protocol lines, prefix removed; closed at EOF
	exited chan struct{} // closed once it has exited and its stdout is read
	err    error         // how it exited, once exited is closed
	sends  string        // its sends file
	stderr string        // its stderr, shown when the test fails
}

// start starts a child process; the test's cleanup kills it if it still
// runs.
func (h *multiProcess) start(cfg childConfig) *child {
	t := h.t
	t.Helper()
	c := &child{name: cfg.name, lines: make(chan string, 1024), exited: make(chan struct{}),
		sends: filepath.Join(h.dir, cfg.name+".sends"), stderr: filepath.Join(h.dir, cfg.name+".stderr")}
	stderr, err := os.Create(c.stderr)
	require.NoError(t, err)
	defer stderr.Close()
	r, w, err := os.Pipe()
	require.NoError(t, err)
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1", "-test.timeout=10m")
	cmd.Env = append(os.Environ(),
		envRole+"=child", envSchema+"="+h.schema, envNamespace+"="+h.ns, envSends+"="+c.sends,
		envLease+"="+cfg.lease.String(), envBatch+"="+strconv.Itoa(cfg.batch),
		envBlockAfter+"="+strconv.Itoa(cfg.blockAfter), envAnnounce+"="+map[bool]string{true: "1"}[cfg.announce],
		envHold+"="+map[bool]string{true: "1"}[cfg.hold])
	cmd.Env = append(cmd.Env, cfg.env...)
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
		c.kill()
		if t.Failed() {
			out, _ := os.ReadFile(c.stderr)
			t.Logf("child %s (%v), stderr:\n%s", c.name, c.err, out)
		}
	})
	return c
}

// waitLine waits for the child's next line of the given kind, skipping
// others, and returns the rest of it.
func (c *child) waitLine(t *testing.T, kind string, timeout time.Duration) string {
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

// release starts the engines of a child started with hold.
func (c *child) release(t *testing.T) {
	t.Helper()
	_, err := io.WriteString(c.stdin, "go\n")
	require.NoError(t, err, "child %s", c.name)
}

// stop closes the child's stdin, which ends its engines, and waits for it
// to exit cleanly.
func (c *child) stop(t *testing.T) {
	t.Helper()
	require.NoError(t, c.stdin.Close())
	select {
	case <-c.exited:
	case <-time.After(mpStall):
		c.kill()
		t.Fatalf("child %s did not stop within %v", c.name, mpStall)
	}
	require.NoError(t, c.err, "child %s", c.name)
}

// kill kills the child with SIGKILL, unless it exited, and waits for it.
func (c *child) kill() {
	select {
	case <-c.exited:
		return
	default:
	}
	_ = c.cmd.Process.Kill()
	<-c.exited
}

// readLines reads the child's sends file, split into fields. A line the
// child was writing when killed may be cut short: it is dropped.
func (c *child) readLines(t *testing.T) [][]string {
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
		want := map[string]int{"claim": 3, "sent": 5, "done": 2}[f[0]]
		require.NotZero(t, want, "line %q", line)
		require.Len(t, f, want, "line %q", line)
		out = append(out, f)
	}
	return out
}
