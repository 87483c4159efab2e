package sqlite

import (
	"testing"

	"github.com/stretchr/testify/require"
	sqlite3 "modernc.org/sqlite/lib"
)

// refusedWriteCode picks SQLite's reports of a write, a flush or a growth
// the file system refused, which storageErr explains by the room left;
// the I/O errors of locks, opens, stats and memory are no write, and an
// error saying "writing … failed; its file system has N bytes free"
// about them (an NFS lock failure, a -shm file that cannot be opened)
// would send the operator to the wrong cause.
func TestRefusedWriteCode(t *testing.T) {
	for _, code := range []int{
		sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_IOERR_WRITE, sqlite3.SQLITE_IOERR_FSYNC,
		sqlite3.SQLITE_IOERR_DIR_FSYNC, sqlite3.SQLITE_IOERR_TRUNCATE, sqlite3.SQLITE_IOERR_SHMSIZE,
	} {
		require.True(t, refusedWriteCode(code), "code %d", code)
	}
	for _, code := range []int{
		sqlite3.SQLITE_IOERR_READ, sqlite3.SQLITE_IOERR_SHORT_READ, sqlite3.SQLITE_IOERR_LOCK,
		sqlite3.SQLITE_IOERR_RDLOCK, sqlite3.SQLITE_IOERR_UNLOCK, sqlite3.SQLITE_IOERR_CHECKRESERVEDLOCK,
		sqlite3.SQLITE_IOERR_SHMLOCK, sqlite3.SQLITE_IOERR_SHMOPEN, sqlite3.SQLITE_IOERR_SHMMAP,
		sqlite3.SQLITE_IOERR_FSTAT, sqlite3.SQLITE_IOERR_ACCESS, sqlite3.SQLITE_IOERR_NOMEM,
		sqlite3.SQLITE_IOERR_DELETE, sqlite3.SQLITE_IOERR_CLOSE, sqlite3.SQLITE_IOERR_CORRUPTFS,
		sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_BUSY,
	} {
		require.False(t, refusedWriteCode(code), "code %d", code)
	}
}
