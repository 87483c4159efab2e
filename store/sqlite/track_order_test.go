package sqlite_test

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/internal/trackorder"
	"github.com/campaignconnector/campaignconnector/store/sqlite"
)

// A TrackAll of three transactions whose second fails (the database file
// is moved away during it, which every write transaction checks for, and
// moved back after): the second transaction's events fail, and so do the
// opens of its users in the third, untried; tracked again, each user's
// events apply in order. The same when the second chunk's interaction
// log write fails.
func TestTrackAllFailedTransactionKeepsEachUsersOrder(t *testing.T) {
	for _, log := range []bool{false, true} {
		for _, whole := range []bool{false, true} {
			name := map[bool]string{false: "update", true: "log"}[log] + map[bool]string{false: "/failed events", true: "/whole batch"}[whole]
			t.Run(name, func(t *testing.T) {
				path := testPath(t)
				s := openStore(t, path)
				away := path + ".away"
				trackorder.Play(t, s, trackorder.Failure{
					Log:   log,
					Break: func(t *testing.T) { require.NoError(t, os.Rename(path, away)) },
					Mend:  func(t *testing.T) { require.NoError(t, os.Rename(away, path)) },
					Is:    trackorder.Is(sqlite.ErrFileChanged),
				}, whole)
			})
		}
	}
}
