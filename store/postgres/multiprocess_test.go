package postgres_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/campaignconnector/campaignconnector/store/postgres"
	"github.com/stretchr/testify/require"
)

// The multi-process tests run engines in child processes: the test binary
// itself, re-executed with -test.run=^TestHelperProcess$ and CCMP_ROLE set
// (the os/exec pattern). A child runs 2 engines with Run on the real
// clock, each on a store of its own from postgres.Open. It appends to a
// file what it claimed (before the engine sees the claim) and sent (before
// Send returns), so that both survive a SIGKILL, and a "done" line after
// each recorded delivery (once the store committed it). It stops when its
// stdin closes (the parent stops it, or died) and talks to the parent with
// stdout lines starting "ccmp:".
//
// The parent schedules the deliveries by tracking events through an engine
// of its own that never sends, waits until the store holds no pending
// delivery, stops the children and counts the sends of every delivery ID.

const (
	envRole       = "CCMP_ROLE" // "child" in a child process
	envSchema     = "CCMP_SCHEMA"
	envNamespace  = "CCMP_NAMESPACE"
	envSends      = "CCMP_SENDS" // the file the child appends to
	envLease      = "CCMP_LEASE"
	envBatch      = "CCMP_BATCH"
	envBlockAfter = "CCMP_BLOCK_AFTER" // > 0: every send after that many hangs
	envAnnounce   = "CCMP_ANNOUNCE"    // "1": announce each send on stdout

	linePrefix = "ccmp:"

	childEngines     = 2
	childConcurrency = 4 // the engine's default send concurrency
)

// TestHelperProcess is the child process of the multi-process tests; run
// on its own, it skips.
func TestHelperProcess(t *testing.T) {
	if os.Getenv(envRole) != "child" {
		t.Skip("the child process of the multi-process tests, which run it")
	}
	runChild(t)
}

// Two processes with two engines each, on one database: each of the
// deliveries one more process scheduled is sent exactly once. The children
// start once all are due, so that the 16 send workers claim from the same
// backlog at once; the lease outlasts the test, so that only a delivery
// claimed twice while leased could be sent twice. (The other tests track
// while the children send.)
func TestMultiProcessEachDeliverySentOnce(t *testing.T) {
	h := newMultiProcess(t)
	start := time.Now()
	require.NoError(t, h.track(context.Background(), 0, mpDeliveries))
	tracked := time.Since(start)

	a := h.start(childConfig{name: "a", lease: 10 * time.Minute})
	b := h.start(childConfig{name: "b", lease: 10 * time.Minute})
	a.waitLine(t, "ready", time.Minute)
	b.waitLine(t, "ready", time.Minute)
	start = time.Now()
	h.waitAllSent(3 * time.Minute)
	sending := time.Since(start)
	a.stop(t)
	b.stop(t)

	sends := h.readSends(a, b)
	h.requireScheduled(mpDeliveries)
	counts := sendCounts(sends)
	for id := range h.scheduled {
		require.Equal(t, 1, counts[id], "delivery %s sent %d times", id, counts[id])
	}
	require.Len(t, counts, mpDeliveries, "nothing but the scheduled deliveries was sent")
	byProc := map[string]int{}
	for _, s := range sends {
		byProc[s.proc]++
	}
	require.Positive(t, byProc["a"], "process a sent its share")
	require.Positive(t, byProc["b"], "process b sent its share")
	t.Logf("%d deliveries tracked in %v (%.0f events/s), then sent once each in %v (%.0f deliveries/s); a sent %d, b %d",
		mpDeliveries, tracked.Round(time.Millisecond), mpDeliveries/tracked.Seconds(),
		sending.Round(time.Millisecond), mpDeliveries/sending.Seconds(), byProc["a"], byProc["b"])
}

// One of two processes is killed with SIGKILL while it holds claimed
// deliveries, sends in progress included: after the lease, the survivor
// sends them; none is lost, and the only deliveries sent twice are those
// the killed process had sent without recording it (at least once, same
// ID).
//
// The lease is short for the test's sake, but longer than an engine takes
// to work through a batch, and than its Ticks last, here (a lease counts
// from the start of the Tick that claims): a lease that ends while its
// engine still works on the delivery lets another engine send it too,
// without any crash (at least once too), which this test would count as
// a failure.
func TestMultiProcessKilledEngineLeasesExpire(t *testing.T) {
	const lease = 15 * time.Second
	h := newMultiProcess(t)
	survivor := h.start(childConfig{name: "survivor", lease: lease})
	victim := h.start(childConfig{name: "victim", lease: lease, blockAfter: mpDeliveries / 4})
	survivor.waitLine(t, "ready", time.Minute)
	victim.waitLine(t, "ready", time.Minute)

	ctx, cancel := context.WithCancel(context.Background())
	tracked := make(chan error, 1)
	go func() { tracked <- h.track(ctx, 0, mpDeliveries) }()
	t.Cleanup(func() { // a failing test ends after tracking does
		cancel()
		<-tracked
	})
	first := victim.waitLine(t, "blocked", 2*time.Minute)
	victim.kill()
	killedAt := time.Now()
	err := <-tracked
	tracked <- err // for the cleanup
	require.NoError(t, err)
	h.waitAllSent(2 * time.Minute)
	survivor.stop(t)

	// The killed process's "blocked" lines: sends it made and never saw
	// the end of.
	blocked := []string{first}
	for line := range victim.lines {
		if id, ok := strings.CutPrefix(line, "blocked "); ok {
			blocked = append(blocked, id)
		}
	}
	sends := h.readSends(survivor, victim)
	h.requireScheduled(mpDeliveries)
	counts := sendCounts(sends)
	require.Len(t, counts, mpDeliveries, "nothing but the scheduled deliveries was sent")
	held, inFlight := heldAtDeath(t, victim)
	require.LessOrEqual(t, len(inFlight), childEngines*childConcurrency, "at most one send in flight per worker: %v", inFlight)
	for _, id := range blocked {
		require.Contains(t, inFlight, id, "a blocked send is in flight")
	}
	twice := 0
	for id := range h.scheduled {
		switch n := counts[id]; {
		case n == 1:
		case n == 2 && inFlight[id]:
			twice++
		default:
			require.Failf(t, "sent more than once, not in flight in the killed process", "delivery %s sent %d times; in flight: %v; sends: %+v (killed at %v)",
				id, n, inFlight[id], sendsOf(sends, id), killedAt)
		}
	}
	// What the killed process held, the survivor sent after the lease,
	// unless the killed process had sent it and recorded it just before
	// dying (recorded, but not yet noted "done" in its file). A blocked
	// send was never recorded.
	for id, leaseEnd := range held {
		again := findSend(sends, "survivor", id)
		if again == nil {
			require.True(t, inFlight[id] && !slices.Contains(blocked, id), "the survivor did not send %s, which the killed process held (sends: %+v)", id, sendsOf(sends, id))
			continue
		}
		require.False(t, again.at.Before(leaseEnd), "the survivor sent %s at %v, before the killed process's lease ended at %v", id, again.at, leaseEnd)
		if inFlight[id] {
			require.Equal(t, 2, again.attempt, "the second send is the second attempt")
		}
	}
	victimSent := 0
	for _, s := range sends {
		if s.proc == "victim" {
			victimSent++
		}
	}
	t.Logf("the victim sent %d and was killed holding %d claimed deliveries, %d of them sent (%d blocked): the survivor sent them after the lease; %d sent twice, all in flight",
		victimSent, len(held), len(inFlight), len(blocked), twice)
}

// A delivery one store instance schedules for now is sent within a second
// by an engine in another process, woken by the store's notification: the
// child's engines run without a poll interval.
func TestMultiProcessWakeUpAcrossProcesses(t *testing.T) {
	h := newMultiProcess(t)
	far := h.start(childConfig{name: "far", announce: true})
	far.waitLine(t, "ready", time.Minute)
	const rounds = 20
	var lat []time.Duration
	for i := range rounds {
		start := time.Now()
		user := mpUser(i)
		require.NoError(t, h.engine.Track(context.Background(),
			event.Event{ID: fmt.Sprint("rcv-", i), UserID: user, Kind: event.PushReceived, CampaignID: "abandoned_cart"}))
		line := far.waitLine(t, "sent", 10*time.Second)
		d := time.Since(start)
		require.Equal(t, user, strings.Fields(line)[1])
		require.Less(t, d, time.Second, "round %d: sent %v after Track began", i, d)
		lat = append(lat, d)
	}
	far.stop(t)
	slices.Sort(lat)
	t.Logf("tracked in this process, sent by the other: median %v, max %v over %d rounds",
		lat[rounds/2].Round(time.Microsecond), lat[rounds-1].Round(time.Microsecond), rounds)
}

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

// waitAllSent polls the store until no delivery is pending: all were
// recorded as sent.
func (h *multiProcess) waitAllSent(timeout time.Duration) {
	h.t.Helper()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		st, err := h.engine.Stats(context.Background())
		require.NoError(h.t, err)
		if st.Pending == 0 {
			return
		}
		select {
		case <-deadline.C:
			h.t.Fatalf("%d deliveries still pending after %v", st.Pending, timeout)
		case <-tick.C:
		}
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
		envBlockAfter+"="+strconv.Itoa(cfg.blockAfter), envAnnounce+"="+map[bool]string{true: "1"}[cfg.announce])
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

// stop closes the child's stdin, which ends its engines, and waits for it
// to exit cleanly.
func (c *child) stop(t *testing.T) {
	t.Helper()
	require.NoError(t, c.stdin.Close())
	select {
	case <-c.exited:
	case <-time.After(30 * time.Second):
		c.kill()
		t.Fatalf("child %s did not stop within 30s", c.name)
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

// runChild is the child's side: 2 engines running until stdin closes.
func runChild(t *testing.T) {
	var (
		cfg childConfig
		err error
	)
	if v := os.Getenv(envLease); v != "" {
		cfg.lease, err = time.ParseDuration(v)
		require.NoError(t, err)
	}
	cfg.batch, err = strconv.Atoi(os.Getenv(envBatch))
	require.NoError(t, err)
	cfg.blockAfter, err = strconv.Atoi(os.Getenv(envBlockAfter))
	require.NoError(t, err)
	cfg.announce = os.Getenv(envAnnounce) == "1"

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		cancel()
	}()
	f, err := os.OpenFile(os.Getenv(envSends), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	require.NoError(t, err)
	defer f.Close()
	rec := &fileSender{f: f, blockAfter: int64(cfg.blockAfter), announce: cfg.announce}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	opts := []connector.Option{connector.WithNamespace(os.Getenv(envNamespace)), connector.WithLogger(logger),
		connector.WithObserver(connector.ObserverFunc(rec.observe))}
	if cfg.lease > 0 {
		opts = append(opts, connector.WithLease(cfg.lease))
	}
	if cfg.batch > 0 {
		opts = append(opts, connector.WithBatchSize(cfg.batch))
	}
	var wg sync.WaitGroup
	for range childEngines {
		s, err := postgres.Open(ctx, testDSN(t), postgres.WithSchema(os.Getenv(envSchema)), postgres.WithLogger(logger))
		require.NoError(t, err)
		defer s.Close() // after the engines stopped: defers run after wg.Wait
		e, err := connector.New(claimTap{s, rec}, rec, opts...)
		require.NoError(t, err)
		wg.Go(func() {
			if err := e.Run(ctx); err != nil {
				t.Error(err)
			}
		})
	}
	say("ready")
	wg.Wait()
}

// claimTap appends each claim to the child's file, with the end of its
// lease, before the engine sees it.
type claimTap struct {
	*postgres.Store
	rec *fileSender
}

func (s claimTap) Claim(ctx context.Context, ns string, now time.Time, lease time.Duration, limit int, token uint64) ([]store.Claim, error) {
	claims, err := s.Store.Claim(ctx, ns, now, lease, limit, token)
	if len(claims) > 0 {
		var b strings.Builder
		for _, c := range claims {
			fmt.Fprintf(&b, "claim %s %d\n", c.Pending.ID, c.Pending.ReadyAt.UnixNano())
		}
		if werr := s.rec.write(b.String()); werr != nil && err == nil {
			err = werr
		}
	}
	return claims, err
}

// fileSender appends each send to the child's file before returning, and
// each recorded delivery after the store committed it.
type fileSender struct {
	mu         sync.Mutex
	f          *os.File
	n          atomic.Int64
	blockAfter int64
	announce   bool
}

func (s *fileSender) Send(ctx context.Context, d connector.Delivery) error {
	if err := s.write(fmt.Sprintf("sent %s %s %d %d\n", d.ID, d.UserID, d.Attempt, time.Now().UnixNano())); err != nil {
		return err
	}
	if s.announce {
		say("sent", d.ID, d.UserID)
	}
	if s.blockAfter > 0 && s.n.Add(1) > s.blockAfter {
		// The message went out, but the provider's answer never comes:
		// the engine holds this delivery, and the rest of its batch,
		// until the process dies.
		say("blocked", d.ID)
		<-ctx.Done()
		return ctx.Err()
	}
	return nil
}

func (s *fileSender) observe(d rule.Decision) {
	if d.Kind == rule.Delivered {
		if err := s.write("done " + d.DeliveryID + "\n"); err != nil {
			panic(err)
		}
	}
}

// write appends one line with one write: a SIGKILL cannot leave half of
// it in the file.
func (s *fileSender) write(line string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err := s.f.WriteString(line)
	return err
}

var sayMu sync.Mutex

// say writes a protocol line to the parent.
func say(words ...string) {
	sayMu.Lock()
	defer sayMu.Unlock()
	fmt.Fprintln(os.Stdout, linePrefix+strings.Join(words, " "))
}
