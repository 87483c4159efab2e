package connector_test

import (
	"context"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/stretchr/testify/require"
)

// pointerSender is a host's sender with a pointer receiver.
type pointerSender struct{}

func (*pointerSender) Send(context.Context, connector.Delivery) error { return nil }

// TestNewRefusesNilValues: an observer or directory that is a nil
// function, or a clock that is a nil pointer, is refused by New as an invalid option naming it and its
// type, instead of panicking at its first call, which may come much
// later. (A nil sender function is let through for engines that never
// send; a nil pointer, for types whose methods work on a nil receiver:
// TestNewKeepsNilSafePointers.)
func TestNewRefusesNilValues(t *testing.T) {
	cases := []struct {
		name string
		send connector.Sender
		opt  connector.Option
		want string
	}{
		{"nil interface sender", nil, nil, "nil sender"},
		{"nil mock clock", noop, connector.WithClock((*clock.Mock)(nil)), "nil clock (a nil *clock.Mock)"},
		{"nil ObserverFunc", noop, connector.WithObserver(connector.ObserverFunc(nil)), "nil observer (a nil connector.ObserverFunc)"},
		{"nil LocationFunc", noop, connector.WithDirectory(connector.LocationFunc(nil)), "nil directory (a nil connector.LocationFunc)"},
		{"nil SegmentFunc", noop, connector.WithDirectory(connector.SegmentFunc(nil)), "nil directory (a nil connector.SegmentFunc)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var opts []connector.Option
			if c.opt != nil {
				opts = append(opts, c.opt)
			}
			e, err := connector.New(store.NewMemory(), c.send, opts...)
			require.ErrorIs(t, err, connector.ErrInvalidOption)
			require.ErrorContains(t, err, c.want)
			require.Nil(t, e)
		})
	}
}

// nilSafe is an observer, directory and instrumentation whose methods
// work on a nil receiver, as a host's metrics that are off may be.
type nilSafe struct{ seen int }

func (n *nilSafe) Observe(rule.Decision) {
	if n != nil {
		n.seen++
	}
}
func (*nilSafe) Location(context.Context, string) (*time.Location, error) { return nil, nil }
func (*nilSafe) InSegment(context.Context, string, string) (bool, error)  { return false, nil }
func (*nilSafe) StartTrack(ctx context.Context, _ event.Event) (context.Context, func(error)) {
	return ctx, func(error) {}
}
func (*nilSafe) StartSend(ctx context.Context, _ connector.Delivery) (context.Context, func(error)) {
	return ctx, func(error) {}
}

// TestNewKeepsNilSafePointers: a nil pointer whose type works on a nil
// receiver is a valid observer, directory and instrumentation.
func TestNewKeepsNilSafePointers(t *testing.T) {
	var off *nilSafe
	e, err := connector.New(store.NewMemory(), noop, connector.WithObserver(off), connector.WithDirectory(off), connector.WithInstrumentation(off))
	require.NoError(t, err)
	require.NoError(t, e.Track(context.Background(), event.Event{UserID: "ann", Kind: event.EmailOpened, CampaignID: "news"}))
}

// TestNewKeepsNonNilValues: values of the same kinds that are not nil
// (a function, a pointer to a zero struct) are accepted, and the engine
// sends through them.
func TestNewKeepsNonNilValues(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewMock()
	clk.Set(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	var decisions int
	e, err := connector.New(store.NewMemory(), &pointerSender{},
		connector.WithClock(clk),
		connector.WithObserver(connector.ObserverFunc(func(rule.Decision) { decisions++ })),
		connector.WithDirectory(&nilSafe{}),
		connector.WithInstrumentation(&nilSafe{}))
	require.NoError(t, err)
	require.NoError(t, e.Apply(ctx, chain(time.Hour)))
	require.NoError(t, e.Track(ctx, event.Event{ID: "r1", UserID: "ann", Kind: event.EmailReceived, CampaignID: "news", Time: clk.Now()}))
	clk.Add(time.Hour)
	n, err := e.Tick(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Positive(t, decisions)
}
