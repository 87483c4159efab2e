package postgres

import (
	"time"

	"github.com/jackc/pgx/v5/pgtype"
)

// Arrays as query arguments. pgx encodes a plain slice through
// pgtype.FlatArray, whose Index returns each element in an interface:
// an allocation per string, time, TID or byte slice, which made up half
// of a TrackAll's allocations. The types below hand out a pointer to the
// element instead, wrapped in a one-pointer struct that an interface holds
// without allocating, and the element encodes itself through the valuer
// interface its codec accepts. The bytes sent are the same as FlatArray's.
//
// Each is a one-dimensional array; a nil slice is SQL NULL, as with
// FlatArray.

type (
	textArray  []string
	int32Array []int32
	int64Array []int64
	timeArray  []time.Time
	tzArray    []pgtype.Timestamptz
	tidArray   []pgtype.TID
	bytesArray [][]byte
)

// dims is the one dimension of an array of n elements, or nil (NULL).
func dims(n int, null bool) []pgtype.ArrayDimension {
	if null {
		return nil
	}
	return []pgtype.ArrayDimension{{Length: int32(n), LowerBound: 1}}
}

func (a textArray) Dimensions() []pgtype.ArrayDimension  { return dims(len(a), a == nil) }
func (a int32Array) Dimensions() []pgtype.ArrayDimension { return dims(len(a), a == nil) }
func (a int64Array) Dimensions() []pgtype.ArrayDimension { return dims(len(a), a == nil) }
func (a timeArray) Dimensions() []pgtype.ArrayDimension  { return dims(len(a), a == nil) }
func (a tzArray) Dimensions() []pgtype.ArrayDimension    { return dims(len(a), a == nil) }
func (a tidArray) Dimensions() []pgtype.ArrayDimension   { return dims(len(a), a == nil) }
func (a bytesArray) Dimensions() []pgtype.ArrayDimension { return dims(len(a), a == nil) }

func (a textArray) Index(i int) any  { return textRef{&a[i]} }
func (a int32Array) Index(i int) any { return int32Ref{&a[i]} }
func (a int64Array) Index(i int) any { return int64Ref{&a[i]} }
func (a timeArray) Index(i int) any  { return timeRef{&a[i]} }
func (a tzArray) Index(i int) any    { return tzRef{&a[i]} }
func (a tidArray) Index(i int) any   { return tidRef{&a[i]} }
func (a bytesArray) Index(i int) any { return bytesRef{&a[i]} }

func (textArray) IndexType() any  { return textRef{} }
func (int32Array) IndexType() any { return int32Ref{} }
func (int64Array) IndexType() any { return int64Ref{} }
func (timeArray) IndexType() any  { return timeRef{} }
func (tzArray) IndexType() any    { return tzRef{} }
func (tidArray) IndexType() any   { return tidRef{} }
func (bytesArray) IndexType() any { return bytesRef{} }

type (
	textRef  struct{ p *string }
	int32Ref struct{ p *int32 }
	int64Ref struct{ p *int64 }
	timeRef  struct{ p *time.Time }
	tzRef    struct{ p *pgtype.Timestamptz }
	tidRef   struct{ p *pgtype.TID }
	bytesRef struct{ p *[]byte }
)

func (r textRef) TextValue() (pgtype.Text, error) { return pgtype.Text{String: *r.p, Valid: true}, nil }

func (r int32Ref) Int64Value() (pgtype.Int8, error) {
	return pgtype.Int8{Int64: int64(*r.p), Valid: true}, nil
}

func (r int64Ref) Int64Value() (pgtype.Int8, error) {
	return pgtype.Int8{Int64: *r.p, Valid: true}, nil
}

func (r timeRef) TimestamptzValue() (pgtype.Timestamptz, error) {
	return pgtype.Timestamptz{Time: *r.p, Valid: true}, nil
}

func (r tzRef) TimestamptzValue() (pgtype.Timestamptz, error) { return *r.p, nil }

func (r tidRef) TIDValue() (pgtype.TID, error) { return *r.p, nil }

// BytesValue gives a nil slice as NULL, as FlatArray does.
func (r bytesRef) BytesValue() ([]byte, error) { return *r.p, nil }
