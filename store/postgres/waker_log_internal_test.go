package postgres

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// A database out of reach while a wake-up is due: the waker retries every
// 100 ms, and without WithLogger every retry went to slog.Default at Warn,
// ten lines a second per store for as long as the outage lasts (eight
// engines down for an hour: 288,000 lines). One line per failing streak.
func TestWakerLogsOnceWhileTheDatabaseIsDown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var buf bytes.Buffer
		pcfg, err := pgxpool.ParseConfig("host=db.invalid user=u dbname=d")
		if err != nil {
			t.Fatal(err)
		}
		pcfg.ConnConfig.LookupFunc = func(context.Context, string) ([]string, error) {
			return []string{"192.0.2.1"}, nil
		}
		pcfg.ConnConfig.DialFunc = func(context.Context, string, string) (net.Conn, error) {
			return nil, errors.New("connection refused")
		}
		pool, err := pgxpool.NewWithConfig(context.Background(), pcfg)
		if err != nil {
			t.Fatal(err)
		}
		defer pool.Close()
		s := &Store{pool: pool, q: &queries{notify: sqlNotify}, listener: &listener{wakeChannel: "w"}}
		s.cfg.logger = slog.New(slog.NewTextHandler(&buf, nil))
		s.waker = newWaker(s)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); s.waker.run(ctx) }()
		s.waker.mark("ns")
		time.Sleep(10 * time.Second) // fake time: a hundred retries
		synctest.Wait()
		cancel()
		<-done
		lines := strings.Count(buf.String(), "sending wake-up notifications")
		if lines != 1 {
			t.Errorf("%d warnings in 10 s of failed retries, want 1:\n%s", lines, buf.String())
		}
	})
}
