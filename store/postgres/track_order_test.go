package postgres_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/internal/trackorder"
	"github.com/campaignconnector/campaignconnector/store/postgres"
)

// A TrackAll of three transactions whose second fails: a trigger,
// created from another connection before the second chunk's store call
// and dropped after it, fails the transaction as a full disk would
// (SQLSTATE 53100), or refuses only ann's receipt as a value PostgreSQL
// refuses would (22P05, a data error: the store applies the others
// again without it). The failed events fail, and so do their users'
// opens in the third transaction, untried; tracked again (the trigger
// gone), each user's events apply in order. The same when the second
// chunk's interaction log write fails.
func TestTrackAllFailedTransactionKeepsEachUsersOrder(t *testing.T) {
	cases := []struct {
		name    string
		table   string // the trigger's
		when    string // the condition of its refusal
		code    string // its SQLSTATE
		log     bool
		refused bool
	}{
		{name: "update", table: "seen", when: "true", code: "53100"},
		{name: "refused", table: "seen", when: "NEW.event_id = 'r-ann'", code: "22P05", refused: true},
		{name: "log", table: "interactions", when: "true", code: "53100", log: true},
	}
	for _, c := range cases {
		for _, whole := range []bool{false, true} {
			t.Run(c.name+map[bool]string{false: "/failed events", true: "/whole batch"}[whole], func(t *testing.T) {
				ctx := context.Background()
				schema := testSchema(t)
				s := openStore(t, postgres.WithSchema(schema))
				admin := newPool(t)
				table := schema + ".campaignconnector_" + c.table
				_, err := admin.Exec(ctx, `CREATE FUNCTION `+schema+`.refuse() RETURNS trigger LANGUAGE plpgsql AS $$
					BEGIN
						IF `+c.when+` THEN
							RAISE EXCEPTION 'refused by the test' USING ERRCODE = '`+c.code+`';
						END IF;
						RETURN NEW;
					END $$`)
				require.NoError(t, err)
				trackorder.Play(t, s, trackorder.Failure{
					Log: c.log,
					Break: func(t *testing.T) {
						_, err := admin.Exec(ctx, `CREATE TRIGGER refuse BEFORE INSERT ON `+table+` FOR EACH ROW EXECUTE FUNCTION `+schema+`.refuse()`)
						require.NoError(t, err)
					},
					Mend: func(t *testing.T) {
						_, err := admin.Exec(ctx, `DROP TRIGGER refuse ON `+table)
						require.NoError(t, err)
					},
					Is: func(err error) bool {
						var pe *pgconn.PgError
						return errors.As(err, &pe) && pe.Code == c.code
					},
					Refused: c.refused,
				}, whole)
			})
		}
	}
}
