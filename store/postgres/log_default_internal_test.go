package postgres

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// Without WithLogger, the store's warnings go to slog.Default (they
// reach no caller), and its Info lines are dropped. (Not parallel: it
// sets the process's default logger.)
func TestLogWithoutLoggerWarnsToTheDefault(t *testing.T) {
	var buf bytes.Buffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	t.Cleanup(func() { slog.SetDefault(prev) })

	s := &Store{}
	s.log(slog.LevelInfo, "reconnected")
	s.log(slog.LevelWarn, "a pending delivery this version cannot read", slog.String("delivery", "d1"))
	out := buf.String()
	if strings.Contains(out, "reconnected") {
		t.Errorf("an Info line was logged without a logger: %s", out)
	}
	if !strings.Contains(out, "level=WARN") || !strings.Contains(out, "campaignconnector/postgres: a pending delivery this version cannot read") || !strings.Contains(out, "delivery=d1") {
		t.Errorf("the warning did not reach the default logger: %q", out)
	}
}
