package connector_test

import (
	"context"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/store"
)

// closedNotices is a memory store whose notification channel is closed,
// as a store must not do, and which counts its NextDue calls, cutting a
// Run short past a thousand.
type closedNotices struct {
	*store.Memory
	calls atomic.Int64
	stop  context.CancelFunc
}

func (s *closedNotices) Notify(string) (<-chan struct{}, func()) {
	ch := make(chan struct{})
	close(ch)
	return ch, func() {}
}

func (s *closedNotices) NextDue(ctx context.Context, ns string) (time.Time, bool, error) {
	if s.calls.Add(1) > 1000 {
		s.stop()
	}
	return s.Memory.NextDue(ctx, ns)
}

// TestRunStopsListeningToAClosedNotificationChannel: a store that closes
// its notification channel would wake Run at once every time, a tight
// loop of Ticks and store calls. Run says so at Error, once, and looks at
// the store every second instead: it still sends what another engine
// schedules.
func TestRunStopsListeningToAClosedNotificationChannel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &closedNotices{Memory: store.NewMemory()}
		var log syncBuffer
		l := &sendLog{}
		e, err := connector.New(s, l, connector.WithLogger(slog.New(slog.NewTextHandler(&log, nil))))
		require.NoError(t, err)
		dueFor(t, e)
		ctx, cancel := context.WithCancel(context.Background())
		s.stop = cancel
		ran := make(chan error, 1)
		go func() { ran <- e.Run(ctx) }()
		time.Sleep(time.Minute)
		require.NoError(t, ctx.Err(), "Run called NextDue %d times in a minute", s.calls.Load())
		require.LessOrEqual(t, s.calls.Load(), int64(120))
		other, err := connector.New(s.Memory, l, connector.WithLogger(slog.New(slog.DiscardHandler)))
		require.NoError(t, err)
		require.NoError(t, other.Track(context.Background(), event.Event{UserID: "u1", Kind: event.PushOpened, CampaignID: "o"}))
		time.Sleep(2 * time.Second)
		require.Len(t, l.sends(), 2, "what another engine scheduled is sent")
		cancel()
		require.NoError(t, <-ran)
		require.Equal(t, 1, strings.Count(log.String(), "closed its notification channel"))
	})
}
