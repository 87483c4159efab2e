// Command dashboard serves the campaignconnector dashboard over a simulated
// workload, so that its pages can be seen populated at once:
//
//	go run ./examples/dashboard -addr 127.0.0.1:8080
//
// It runs the flows of the other examples — resend the newsletter to
// non-openers, remind of abandoned carts (with a control group and
// conversions), a coupon for opening a push, a survey of a promo's
// hold-outs — for thousands of users on an in-memory store and a clock
// that runs faster than real time. It first simulates eight days of
// history (-history), then prints the dashboard's address and keeps the
// simulation going (by default, six simulated minutes per second) so the
// live pages move.
// A draft follow-up of an active original makes the engine warn, a few
// users' addresses always bounce, and a frequency cap of one push in 12
// hours drops some deliveries when they come due, so that every page has
// something to show. Actions are enabled: publish, stop and archive from the campaign
// pages.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/dashboard"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// settings are the command's flags.
type settings struct {
	addr    string
	users   int
	history time.Duration
	speed   float64 // simulated seconds per real second
	seed    uint64
}

func main() {
	var s settings
	flag.StringVar(&s.addr, "addr", "127.0.0.1:8080", "address to serve the dashboard on")
	flag.IntVar(&s.users, "users", 5000, "simulated users")
	flag.DurationVar(&s.history, "history", 8*24*time.Hour, "simulated history before serving")
	flag.Float64Var(&s.speed, "speed", 360, "simulated seconds per real second once serving (0: the clock stops)")
	flag.Uint64Var(&s.seed, "seed", 1, "seed of the simulated users' behaviour")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, s, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "dashboard:", err)
		os.Exit(1)
	}
}

// start is the simulated clock's first instant: a Monday morning.
var start = time.Date(2026, time.January, 5, 6, 0, 0, 0, time.UTC)

// step is how far the simulated clock moves between two engine ticks.
const step = time.Minute

// run simulates the history, serves the dashboard on s.addr and keeps the
// simulation running until ctx ends.
func run(ctx context.Context, s settings, out io.Writer) error {
	if s.users < 100 || s.speed < 0 || s.history < 0 {
		return errors.New("need -users ≥ 100, -speed ≥ 0 and -history ≥ 0")
	}
	sim, err := newSimulation(ctx, s)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		return err
	}
	began := time.Now()
	if err := sim.advance(ctx, s.history); err != nil {
		ln.Close()
		return err
	}
	h, err := dashboard.New(sim.engine, dashboard.WithActions(), dashboard.WithRefresh(5*time.Second),
		dashboard.WithLogger(slog.New(slog.NewTextHandler(out, nil))))
	if err != nil {
		ln.Close()
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Fprintf(out, "simulated %v of %d users in %v\n", s.history, s.users, time.Since(began).Round(time.Millisecond))
	fmt.Fprintf(out, "dashboard: http://%s/\n", ln.Addr())

	err = sim.live(ctx, s.speed)
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdown)
	if serr := <-served; !errors.Is(serr, http.ErrServerClosed) {
		return serr
	}
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// simulation is an engine on a memory store and a simulated clock, fed by
// a workload.
type simulation struct {
	clock  *simClock
	engine *connector.Engine
	work   *workload
}

func newSimulation(ctx context.Context, s settings) (*simulation, error) {
	clk := newSimClock(start)
	work := newWorkload(s.users, s.seed, clk.Now)
	engine, err := connector.New(store.NewMemory(), connector.SenderFunc(work.send),
		connector.WithClock(clk),
		connector.WithDecisionLog(50, 30*24*time.Hour),
		connector.WithSendConcurrency(1), // the simulated users react in a repeatable order
		// At most one push in 12 hours: a cart reminder and a coupon close
		// together drop the later when it comes due.
		connector.WithFrequencyCaps(connector.FrequencyCap{Max: 1, Window: 12 * time.Hour, Channel: event.Push}),
	)
	if err != nil {
		return nil, err
	}
	// The campaigns as code: Apply saves them and publishes each follow-up
	// before the original that triggers it.
	campaigns := append(append([]rule.Campaign{}, originals...), followUps...)
	if err := engine.Apply(ctx, campaigns); err != nil {
		return nil, err
	}
	// A follow-up saved by hand and never published: the engine warns that
	// its original is active without it.
	if err := engine.Save(ctx, draftFollowUp); err != nil {
		return nil, err
	}
	return &simulation{clock: clk, engine: engine, work: work}, nil
}

// advance moves the clock forward by d, a step at a time: at each step
// the users' events of the step are tracked and what fell due is sent.
func (s *simulation) advance(ctx context.Context, d time.Duration) error {
	end := s.clock.Now().Add(d)
	for now := s.clock.Now(); now.Before(end); now = s.clock.Now() {
		next := now.Add(step)
		if next.After(end) {
			next = end
		}
		s.work.schedule(now, next)
		s.clock.Set(next)
		if evs := s.work.due(next); len(evs) > 0 {
			if err := s.engine.TrackAll(ctx, evs); err != nil {
				return fmt.Errorf("tracking at %v: %w", next, err)
			}
		}
		if _, err := s.engine.Tick(ctx); err != nil {
			return fmt.Errorf("tick at %v: %w", next, err)
		}
	}
	return nil
}

// live advances the clock by speed simulated seconds per real second
// until ctx ends.
func (s *simulation) live(ctx context.Context, speed float64) error {
	const every = 200 * time.Millisecond
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			if speed == 0 {
				continue
			}
			if err := s.advance(ctx, time.Duration(speed*float64(every))); err != nil {
				return err
			}
		}
	}
}
