package sqlite_test

import (
	"bufio"
	"context"
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

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/internal/lifecyclekill"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/campaignconnector/campaignconnector/store/sqlite"
	"github.com/stretchr/testify/require"
)

// runChild is the child's side: 2 engines running until stdin closes.
func runChild(t *testing.T) {
	if os.Getenv(lifecyclekill.EnvChange) != "" {
		runLifecycleChild(t)
		return
	}
	if spec := os.Getenv(envTrack); spec != "" {
		runTracker(t, spec)
		return
	}
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
	cfg.hold = os.Getenv(envHold) == "1"

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
	var engines []*connector.Engine
	for range childEngines {
		s, err := sqlite.Open(ctx, os.Getenv(envPath), sqlite.WithLogger(logger))
		require.NoError(t, err)
		defer s.Close() // after the engines stopped: defers run after wg.Wait
		e, err := connector.New(claimTap{s, rec}, rec, opts...)
		require.NoError(t, err)
		engines = append(engines, e)
	}
	say("ready")
	if cfg.hold {
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
	*sqlite.Store
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
