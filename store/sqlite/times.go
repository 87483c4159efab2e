package sqlite

import (
	"database/sql"
	"fmt"
	"math"
	"time"

	"github.com/campaignconnector/campaignconnector/store"
)

// Times are kept as INTEGER nanoseconds since the Unix epoch, so the queue
// compares them exactly, as the memory store does. An int64 of nanoseconds
// spans 1677-09-21 to 2262-04-11: the zero time is kept as the smallest
// value and read back as the zero time; other times outside the span are
// clamped to it. Only an event stamped past 2262 (or a delay of centuries)
// schedules beyond it: such a delivery reads back due on 2262-04-11, which
// no clock the store accepts reaches, so it still never falls due. A call whose
// now lies outside the span fails instead ([checkNow]): clamped, now would
// compare wrongly with what is stored.
var (
	minTime = time.Unix(0, math.MinInt64+1)
	maxTime = time.Unix(0, math.MaxInt64)
)

const zeroNanos = math.MinInt64

// checkNow returns [store.ErrTimeRange], wrapped with now, when now lies
// outside the span of nanosecond times, as the memory store does: a Claim
// at a clamped now would hand out again the deliveries it leased (their
// lease, clamped too, would end at once), and an Update would expire
// every remembered event ID.
func checkNow(now time.Time) error {
	if !now.Before(minTime) && !now.After(maxTime) {
		return nil
	}
	return fmt.Errorf("%w: now is %s, outside the SQLite store's span of times (1677-09-21 to 2262-04-11)", store.ErrTimeRange, now.UTC().Format(time.RFC3339Nano))
}

func nanos(t time.Time) int64 {
	switch {
	case t.IsZero():
		return zeroNanos
	case t.Before(minTime):
		return math.MinInt64 + 1
	case t.After(maxTime):
		return math.MaxInt64
	}
	return t.UnixNano()
}

func timeOf(n int64) time.Time {
	if n == zeroNanos {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// nullNanos writes the zero time as NULL.
func nullNanos(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return nanos(t)
}

// nullTime reads a nullable time: NULL is the zero time.
func nullTime(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return timeOf(n.Int64)
}

// stored is t as the store keeps it and reads it back.
func stored(t time.Time) time.Time { return timeOf(nanos(t)) }
