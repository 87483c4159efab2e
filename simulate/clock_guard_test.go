package simulate_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/simulate"
)

// hourLater returns a simulator where ann waits for "b", due an hour
// after the start.
func hourLater(t *testing.T) *simulate.Simulator {
	t.Helper()
	sim, err := simulate.New(time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Apply(rule.Campaign{ID: "a"}, rule.Campaign{
		ID:       "b",
		Triggers: []rule.Trigger{{Kind: event.EmailOpened, CampaignID: "a"}},
		Delay:    rule.After(time.Hour),
	}); err != nil {
		t.Fatal(err)
	}
	if err := sim.Track(event.Event{UserID: "ann", Kind: event.EmailOpened, CampaignID: "a"}); err != nil {
		t.Fatal(err)
	}
	return sim
}

// Moving the clock while a send is in flight (the Sender blocks, and
// another goroutine advances) would run out the send's lease and send the
// delivery a second time: the move is refused with ErrBusy instead, and
// the delivery goes out once.
func TestAdvanceWhileASendIsInFlightIsRefused(t *testing.T) {
	for _, first := range []string{"Advance", "Tick"} {
		t.Run(first, func(t *testing.T) {
			sim := hourLater(t)
			started, release := make(chan struct{}), make(chan struct{})
			var once sync.Once
			sim.Sender.Fail = func(connector.Delivery) error {
				first := false
				once.Do(func() { first = true })
				if first { // the first attempt blocks until released; any other is accepted at once
					close(started)
					<-release
				}
				return nil
			}
			done := make(chan error, 1)
			go func() {
				var err error
				if first == "Advance" {
					_, err = sim.Advance(2 * time.Hour)
				} else {
					sim.Clock.Set(sim.Now().Add(time.Hour))
					_, err = sim.Tick()
				}
				done <- err
			}()
			<-started
			_, err := sim.Advance(10 * time.Minute)
			if !errors.Is(err, simulate.ErrBusy) {
				t.Errorf("Advance while a send is in flight = %v, want ErrBusy", err)
			}
			if _, err := sim.AdvanceTo(sim.Now().Add(time.Minute)); !errors.Is(err, simulate.ErrBusy) {
				t.Errorf("AdvanceTo while a send is in flight = %v, want ErrBusy", err)
			}
			close(release)
			if err := <-done; err != nil {
				t.Fatalf("%s: %v", first, err)
			}
			if _, err := sim.Advance(time.Hour); err != nil {
				t.Fatalf("Advance once the send is over: %v", err)
			}
			if n := len(sim.Sender.Attempts()); n != 1 {
				t.Errorf("the delivery was attempted %d times, want once", n)
			}
		})
	}
}

// A Sender that moves the clock itself gets ErrBusy, which refuses its
// delivery like any error of the Sender: it is not sent twice.
func TestSenderThatMovesTheClockGetsErrBusy(t *testing.T) {
	sim := hourLater(t)
	var inner []error
	sim.Sender.Fail = func(connector.Delivery) error {
		_, err := sim.Advance(time.Minute)
		inner = append(inner, err)
		return err
	}
	if _, err := sim.Advance(2 * time.Hour); err != nil {
		t.Fatal(err)
	}
	if len(inner) == 0 || !errors.Is(inner[0], simulate.ErrBusy) {
		t.Fatalf("the Sender's Advance returned %v, want ErrBusy", inner)
	}
	if got := len(sim.Sent()); got != 0 {
		t.Errorf("%d deliveries accepted, want none (each attempt was refused)", got)
	}
	var failed int
	for _, d := range sim.Decisions() {
		if d.Kind == rule.Failed {
			failed++
		}
	}
	if failed != 1 {
		t.Errorf("%d failed decisions, want 1 after the retries", failed)
	}
}

// An option that replaces the simulator's clock (connector.WithClock)
// would leave the engine on a clock that Advance does not move: every
// due time and decision at the wall clock's time. New refuses it, also
// when the other clock reads the simulator's start (a test's own mock set
// to connectortest.Start, say), where both read the same time at first.
func TestNewRefusesAnotherClock(t *testing.T) {
	start := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	other, atStart := clock.NewMock(), clock.NewMock()
	other.Set(start.Add(time.Hour))
	atStart.Set(start)
	for name, c := range map[string]clock.Clock{
		"the wall clock":        clock.New(),
		"another mock":          other,
		"another mock at start": atStart,
	} {
		sim, err := simulate.New(start, connector.WithClock(c))
		if !errors.Is(err, connector.ErrInvalidOption) || sim != nil {
			t.Errorf("New with %s = %v, %v; want ErrInvalidOption", name, sim, err)
		}
	}
}
