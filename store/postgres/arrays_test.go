package postgres

import (
	"bytes"
	"math"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
)

// TestArraysEncodeAsFlatArray checks that each array argument type sends
// the bytes pgx sends for the plain slice, NULLs and edge values included.
func TestArraysEncodeAsFlatArray(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now() // carries a monotonic reading
	times := []time.Time{{}, now, now.In(paris), time.Date(2262, 4, 11, 23, 47, 16, 854775807, time.UTC), time.Unix(-1e10, 1)}
	tzs := []pgtype.Timestamptz{
		{Time: now, Valid: true}, {}, {InfinityModifier: pgtype.Infinity, Valid: true},
		{InfinityModifier: pgtype.NegativeInfinity, Valid: true}, {Time: now.In(paris), Valid: true},
	}
	cases := []struct {
		name       string
		oid        uint32
		flat, ours any
	}{
		{"text", pgtype.TextArrayOID, []string{"", "a", "é\x01", "user-42"}, textArray{"", "a", "é\x01", "user-42"}},
		{"text nil", pgtype.TextArrayOID, []string(nil), textArray(nil)},
		{"text empty", pgtype.TextArrayOID, []string{}, textArray{}},
		{"int4", pgtype.Int4ArrayOID, []int32{0, -1, 255, 256, math.MinInt32, math.MaxInt32}, int32Array{0, -1, 255, 256, math.MinInt32, math.MaxInt32}},
		{"int8", pgtype.Int8ArrayOID, []int64{0, -1, 256, math.MinInt64, math.MaxInt64}, int64Array{0, -1, 256, math.MinInt64, math.MaxInt64}},
		{"timestamptz", pgtype.TimestamptzArrayOID, times, timeArray(times)},
		{"timestamptz nullable", pgtype.TimestamptzArrayOID, tzs, tzArray(tzs)},
		{"tid", pgtype.TIDArrayOID, []pgtype.TID{{BlockNumber: 7, OffsetNumber: 3, Valid: true}, {}, {BlockNumber: math.MaxUint32, OffsetNumber: math.MaxUint16, Valid: true}},
			tidArray{{BlockNumber: 7, OffsetNumber: 3, Valid: true}, {}, {BlockNumber: math.MaxUint32, OffsetNumber: math.MaxUint16, Valid: true}}},
		{"bytea", pgtype.ByteaArrayOID, [][]byte{{1, 2}, nil, {}, {0}}, bytesArray{{1, 2}, nil, {}, {0}}},
		{"bytea nil", pgtype.ByteaArrayOID, [][]byte(nil), bytesArray(nil)},
	}
	m := pgtype.NewMap()
	for _, c := range cases {
		for _, format := range []int16{pgtype.BinaryFormatCode, pgtype.TextFormatCode} {
			want, err := m.Encode(c.oid, format, c.flat, nil)
			if err != nil {
				t.Fatalf("%s, format %d: the plain slice: %v", c.name, format, err)
			}
			got, err := m.Encode(c.oid, format, c.ours, nil)
			if err != nil {
				t.Fatalf("%s, format %d: %v", c.name, format, err)
			}
			if !bytes.Equal(got, want) || (got == nil) != (want == nil) {
				t.Errorf("%s, format %d:\n got % x\nwant % x", c.name, format, got, want)
			}
		}
	}
}

// TestArraysOfNilSlicesAreNull checks Dimensions directly: pgx's Encode
// sends a nil slice as NULL before asking, so the cases above cannot tell.
func TestArraysOfNilSlicesAreNull(t *testing.T) {
	for _, c := range []struct {
		name      string
		nil, none pgtype.ArrayGetter
	}{
		{"text", textArray(nil), textArray{}},
		{"int4", int32Array(nil), int32Array{}},
		{"int8", int64Array(nil), int64Array{}},
		{"timestamptz", timeArray(nil), timeArray{}},
		{"timestamptz nullable", tzArray(nil), tzArray{}},
		{"tid", tidArray(nil), tidArray{}},
		{"bytea", bytesArray(nil), bytesArray{}},
	} {
		if d := c.nil.Dimensions(); d != nil {
			t.Errorf("%s: a nil slice has dimensions %v, want none (NULL)", c.name, d)
		}
		if d := c.none.Dimensions(); len(d) != 1 || d[0].Length != 0 {
			t.Errorf("%s: an empty slice has dimensions %v, want one of length 0", c.name, d)
		}
	}
}

// TestArraysEncodeWithoutAllocatingPerElement checks what the types are
// for: encoding an array allocates a fixed number of times, not once per
// element as the plain slice does.
func TestArraysEncodeWithoutAllocatingPerElement(t *testing.T) {
	const n = 100
	users := make(textArray, n)
	keep := make(timeArray, n)
	tids := make(tidArray, n)
	for i := range n {
		users[i] = "user-" + string(rune('a'+i%26)) + "-0123456789"
		keep[i] = time.Unix(int64(1e9+i), 0)
		tids[i] = pgtype.TID{BlockNumber: uint32(i), OffsetNumber: 1, Valid: true}
	}
	m := pgtype.NewMap()
	buf := make([]byte, 0, 1<<16)
	for _, c := range []struct {
		name       string
		oid        uint32
		flat, ours any
	}{
		{"text", pgtype.TextArrayOID, []string(users), users},
		{"timestamptz", pgtype.TimestamptzArrayOID, []time.Time(keep), keep},
		{"tid", pgtype.TIDArrayOID, []pgtype.TID(tids), tids},
	} {
		encode := func(v any) func() {
			return func() {
				if _, err := m.Encode(c.oid, pgtype.BinaryFormatCode, v, buf[:0]); err != nil {
					t.Fatal(err)
				}
			}
		}
		flat := testing.AllocsPerRun(20, encode(c.flat))
		ours := testing.AllocsPerRun(20, encode(c.ours))
		if ours > 4 {
			t.Errorf("%s: %v allocations for %d elements (the plain slice: %v), want at most 4", c.name, ours, n, flat)
		}
		if flat < n {
			t.Errorf("%s: the plain slice takes %v allocations for %d elements: pgx no longer boxes each element, and the type can go", c.name, flat, n)
		}
	}
}
