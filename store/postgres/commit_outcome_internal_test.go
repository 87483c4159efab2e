package postgres

import (
	"fmt"
	"io"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"
)

// commitOutcome says "may have committed" only of failures after which
// the server may have run the COMMIT.
func TestCommitOutcome(t *testing.T) {
	const note = "may have committed"
	for _, err := range []error{
		io.ErrUnexpectedEOF,
		&pgconn.PgError{Severity: "FATAL", Code: "57P01", Message: "terminating connection due to administrator command"},
	} {
		out := commitOutcome(fmt.Errorf("reading: %w", err))
		require.ErrorContains(t, out, note)
		require.ErrorIs(t, out, err)
	}
	for _, err := range []error{
		&pgconn.PgError{Severity: "ERROR", Code: "40001", Message: "could not serialize access"},
		// A server whose lc_messages is German: Severity is localized,
		// SeverityUnlocalized (PostgreSQL 9.6 on) is not.
		&pgconn.PgError{Severity: "FEHLER", SeverityUnlocalized: "ERROR", Code: "40001", Message: "konnte Zugriff nicht serialisieren"},
		pgx.ErrPreprocessingBatch{},
		// Timeouts of an idle session end it before the round trip is
		// read: nothing was committed.
		&pgconn.PgError{Severity: "FATAL", Code: "25P03", Message: "terminating connection due to idle-in-transaction timeout"},
		&pgconn.PgError{Severity: "FATAL", Code: "57P05", Message: "terminating connection due to idle-session timeout"},
	} {
		out := commitOutcome(err)
		require.Equal(t, err, out, "a failure that committed nothing")
	}
	// A conflict, read before the COMMIT's result, says itself whether
	// the COMMIT ran (committedConflict).
	for _, err := range []error{errConflict, committedConflict(errConflict)} {
		require.Equal(t, err, commitOutcome(err))
	}
	require.NoError(t, commitOutcome(nil))
}
