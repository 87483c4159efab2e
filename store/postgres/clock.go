package postgres

import (
	"context"
	"time"

	"github.com/campaignconnector/campaignconnector/store"
)

var _ store.ServerClock = (*Store)(nil)

// ServerNow returns the database server's current time
// (clock_timestamp(), not the start of a transaction), for
// [store.ServerClock]: engines on several hosts compare their clocks with
// it (connector's Engine.ClockSkew).
func (s *Store) ServerNow(ctx context.Context) (time.Time, error) {
	if err := s.begin(ctx); err != nil {
		return time.Time{}, err
	}
	var t time.Time
	err := s.pool.QueryRow(ctx, "SELECT clock_timestamp()").Scan(&t)
	return t, wrap("server time", err)
}
