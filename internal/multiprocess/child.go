package multiprocess

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/internal/lifecyclekill"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// OpenFunc opens, in a child process, a new store handle on the database
// that [Database.Env] named in its environment, with logger; it fails t
// if it cannot, and closes the store when t ends.
type OpenFunc func(t *testing.T, logger *slog.Logger) lifecyclekill.Durable

// HelperProcess is the body of a store's TestHelperProcess: in a child
// process, it makes a lifecycle change ([lifecyclekill.RunChild]), tracks
// (ChildConfig.Track) or runs 2 engines until stdin closes, on stores
// from open; run on its own, it skips.
func HelperProcess(t *testing.T, open OpenFunc) {
	if os.Getenv(envRole) != "child" {
		t.Skip("the child process of the multi-process tests, which run it")
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	f, err := os.OpenFile(os.Getenv(envSends), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	require.NoError(t, err)
	defer f.Close()
	switch {
	case os.Getenv(lifecyclekill.EnvChange) != "":
		rec := &fileSender{f: f}
		lifecyclekill.RunChild(t, lifecyclekill.ChildConfig{Store: open(t, logger), Sender: rec,
			Observer: connector.ObserverFunc(rec.observe), Logger: logger, Say: say})
	case os.Getenv(envTrack) != "":
		runTracker(t, os.Getenv(envTrack), f, open(t, logger))
	default:
		runEngines(t, f, logger, open)
	}
}

// runEngines is the multi-process tests' child: 2 engines running until
// stdin closes.
func runEngines(t *testing.T, f *os.File, logger *slog.Logger, open OpenFunc) {
	var (
		cfg ChildConfig
		err error
	)
	if v := os.Getenv(envLease); v != "" {
		cfg.Lease, err = time.ParseDuration(v)
		require.NoError(t, err)
	}
	cfg.Batch, err = strconv.Atoi(os.Getenv(envBatch))
	require.NoError(t, err)
	cfg.BlockAfter, err = strconv.Atoi(os.Getenv(envBlockAfter))
	require.NoError(t, err)
	cfg.Announce = os.Getenv(envAnnounce) == "1"
	cfg.Hold = os.Getenv(envHold) == "1"

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	released := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			if sc.Text() == "go" {
				close(released)
				break
			}
		}
		_, _ = io.Copy(io.Discard, os.Stdin)
		cancel()
	}()
	rec := &fileSender{f: f, blockAfter: int64(cfg.BlockAfter), announce: cfg.Announce}
	opts := []connector.Option{connector.WithNamespace(os.Getenv(envNamespace)), connector.WithLogger(logger),
		connector.WithObserver(connector.ObserverFunc(rec.observe))}
	if cfg.Lease > 0 {
		opts = append(opts, connector.WithLease(cfg.Lease))
	}
	if cfg.Batch > 0 {
		opts = append(opts, connector.WithBatchSize(cfg.Batch))
	}
	var engines []*connector.Engine
	for range childEngines {
		// open closes the store when t ends: after the engines stopped.
		e, err := connector.New(newClaimTap(open(t, logger), rec), rec, opts...)
		require.NoError(t, err)
		engines = append(engines, e)
	}
	say("ready")
	if cfg.Hold {
		select {
		case <-released:
		case <-ctx.Done():
		}
	}
	var wg sync.WaitGroup
	for _, e := range engines {
		wg.Go(func() {
			if err := e.Run(ctx); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
}

// claimTap appends each claim to the child's file, with the end of its
// lease, before the engine sees it.
type claimTap struct {
	lifecyclekill.Durable
	rec *fileSender
}

// newClaimTap taps s, passing on [store.OnceTallier] when s implements it
// (PostgreSQL), so that the engine works as it does on s itself.
func newClaimTap(s lifecyclekill.Durable, rec *fileSender) store.Store {
	tap := claimTap{s, rec}
	if once, ok := s.(store.OnceTallier); ok {
		return onceClaimTap{tap, once}
	}
	return tap
}

func (s claimTap) Claim(ctx context.Context, ns string, now time.Time, lease time.Duration, limit int, token uint64) ([]store.Claim, error) {
	claims, err := s.Durable.Claim(ctx, ns, now, lease, limit, token)
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

// onceClaimTap is a claimTap of a store that implements
// [store.OnceTallier], which it passes on.
type onceClaimTap struct {
	claimTap
	once store.OnceTallier
}

func (s onceClaimTap) AddTalliesOnce(ctx context.Context, ns, writer string, seq int64, tallies []store.Tally) error {
	return s.once.AddTalliesOnce(ctx, ns, writer, seq, tallies)
}

var _ store.OnceTallier = onceClaimTap{}

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

// runTracker is the child's side of a TrackAll crash test: it tracks the
// users of spec ("from to batch") with TrackAll on s, saying "begin k d"
// before the k-th call (d: how long the call before took, in µs) and
// appending "acked k from to" to f once the call returned, then waits for
// its stdin to close.
func runTracker(t *testing.T, spec string, f *os.File, s store.Store) {
	var from, to, batch int
	_, err := fmt.Sscan(spec, &from, &to, &batch)
	require.NoError(t, err)
	ctx := context.Background()
	never := connector.SenderFunc(func(context.Context, connector.Delivery) error { return errors.New("the tracker does not send") })
	e, err := connector.New(s, never, connector.WithNamespace(os.Getenv(envNamespace)))
	require.NoError(t, err)
	say("ready")
	took := time.Millisecond
	for k, i := 0, from; i < to; k, i = k+1, i+batch {
		var evs []event.Event
		for j := i; j < min(to, i+batch); j++ {
			evs = append(evs, received(j))
		}
		say("begin", strconv.Itoa(k), strconv.FormatInt(took.Microseconds()+1, 10))
		start := time.Now()
		require.NoError(t, e.TrackAll(ctx, evs))
		took = time.Since(start)
		_, err := fmt.Fprintf(f, "acked %d %d %d\n", k, i, i+len(evs))
		require.NoError(t, err)
	}
	say("done")
	_, _ = io.Copy(io.Discard, os.Stdin)
}
