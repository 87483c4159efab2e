package postgres

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
)

// The encoding's building blocks, which codec.go's documents are made of:
// varints, strings, times, event properties (any JSON value), and the
// reader that walks them back.

func appendVarint(b []byte, x int64) []byte { return binary.AppendVarint(b, x) }

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(b, timeZero)
	}
	if _, off := t.Zone(); off != 0 {
		// Read back in a fixed zone, as RFC 3339 text is; at offset 0,
		// in UTC (RFC 3339 writes Z).
		b = append(b, timeZoned)
		b = appendVarint(b, int64(off))
	} else {
		b = append(b, timeUTC)
	}
	b = appendVarint(b, t.Unix())
	return binary.AppendUvarint(b, uint64(t.Nanosecond()))
}

// appendEntries appends the n entries of m, keys in order, so that equal
// maps encode alike.
func appendEntries(b []byte, m map[string]any, depth int) ([]byte, error) {
	switch len(m) {
	case 0:
		return b, nil
	case 1:
		for k, v := range m {
			b = appendString(b, k)
			return appendValue(b, v, depth)
		}
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var err error
	for _, k := range keys {
		b = appendString(b, k)
		if b, err = appendValue(b, m[k], depth); err != nil {
			return b, err
		}
	}
	return b, nil
}

// maxDepth bounds the nesting of property values, as JSON decoders bound
// theirs (validation allows 32 levels).
const maxDepth = 64

func appendValue(b []byte, v any, depth int) ([]byte, error) {
	if depth > maxDepth {
		return b, errors.New("property value nested too deeply")
	}
	switch x := v.(type) {
	case nil:
		return append(b, valNil), nil
	case bool:
		if x {
			return append(b, valTrue), nil
		}
		return append(b, valFalse), nil
	case string:
		return appendString(append(b, valString), x), nil
	case json.Number:
		if x == "" {
			x = "0" // as encoding/json writes it
		}
		if !validNumber(string(x)) {
			return b, fmt.Errorf("invalid number literal %q", string(x))
		}
		return appendString(append(b, valNumber), string(x)), nil
	case float64:
		return appendFloat(b, x, 64)
	case float32:
		return appendFloat(b, float64(x), 32)
	case int:
		return appendNumber(b, strconv.AppendInt(nil, int64(x), 10)), nil
	case int64:
		return appendNumber(b, strconv.AppendInt(nil, x, 10)), nil
	case int32:
		return appendNumber(b, strconv.AppendInt(nil, int64(x), 10)), nil
	case int16:
		return appendNumber(b, strconv.AppendInt(nil, int64(x), 10)), nil
	case int8:
		return appendNumber(b, strconv.AppendInt(nil, int64(x), 10)), nil
	case uint:
		return appendNumber(b, strconv.AppendUint(nil, uint64(x), 10)), nil
	case uint64:
		return appendNumber(b, strconv.AppendUint(nil, x, 10)), nil
	case uint32:
		return appendNumber(b, strconv.AppendUint(nil, uint64(x), 10)), nil
	case uint16:
		return appendNumber(b, strconv.AppendUint(nil, uint64(x), 10)), nil
	case uint8:
		return appendNumber(b, strconv.AppendUint(nil, uint64(x), 10)), nil
	case uintptr:
		return appendNumber(b, strconv.AppendUint(nil, uint64(x), 10)), nil
	case []any:
		if x == nil {
			return append(b, valNil), nil // JSON's null
		}
		b = binary.AppendUvarint(append(b, valList), uint64(len(x)))
		var err error
		for _, e := range x {
			if b, err = appendValue(b, e, depth+1); err != nil {
				return b, err
			}
		}
		return b, nil
	case map[string]any:
		if x == nil {
			return append(b, valNil), nil
		}
		b = binary.AppendUvarint(append(b, valObject), uint64(len(x)))
		return appendEntries(b, x, depth+1)
	}
	j, err := json.Marshal(v)
	if err != nil {
		return b, err
	}
	return appendString(append(b, valJSON), string(j)), nil
}

func appendNumber(b, text []byte) []byte {
	b = binary.AppendUvarint(append(b, valNumber), uint64(len(text)))
	return append(b, text...)
}

// appendFloat appends f as a number with the text encoding/json writes for
// a float of bits bits.
func appendFloat(b []byte, f float64, bits int) ([]byte, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return b, fmt.Errorf("unsupported value: %v", f)
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 {
		if bits == 64 && (abs < 1e-6 || abs >= 1e21) || bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21) {
			format = 'e'
		}
	}
	var buf [32]byte
	t := strconv.AppendFloat(buf[:0], f, format, -1, bits)
	if format == 'e' {
		// e-09 to e-9, as encoding/json writes it
		if n := len(t); n >= 4 && t[n-4] == 'e' && t[n-3] == '-' && t[n-2] == '0' {
			t[n-2] = t[n-1]
			t = t[:n-1]
		}
	}
	return appendNumber(b, t), nil
}

// validNumber reports whether s is a JSON number, as encoding/json checks
// a json.Number it writes.
func validNumber(s string) bool {
	return json.Valid([]byte(s)) && s != "" && (s[0] == '-' || s[0] >= '0' && s[0] <= '9')
}

// reader decodes a document; the first error stops it (every later read
// returns zero values).
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail() {
	if r.err == nil {
		r.err = errCorrupt
	}
	r.b = nil
}

func (r *reader) byte() byte {
	if len(r.b) == 0 {
		r.fail()
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *reader) uvarint() uint64 {
	x, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return x
}

func (r *reader) varint() int64 {
	x, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return x
}

// count reads a length, which cannot exceed the bytes left.
func (r *reader) count() int {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.fail()
		return 0
	}
	return int(n)
}

func (r *reader) bytes() []byte {
	n := r.count()
	s := r.b[:n:n]
	r.b = r.b[n:]
	return s
}

func (r *reader) string() string {
	if s := r.bytes(); len(s) > 0 {
		return string(s)
	}
	return ""
}

// known reads a string that is usually one of a few names (kinds,
// channels, decision kinds and reasons): those come back without an
// allocation.
func (r *reader) known() string {
	s := r.bytes()
	if k, ok := knownNames[string(s)]; ok {
		return k
	}
	return string(s)
}

// kind reads an event kind. One this version does not know (a newer
// version's, written during a rolling upgrade) is an error wrapping
// [event.ErrUnknownKind], as it is in JSON: the document is not one this
// version can act on. The empty kind (none) reads back as it was written.
func (r *reader) kind() event.Kind {
	k := event.Kind(r.known())
	if r.err == nil && k != "" && !k.Valid() {
		r.err = fmt.Errorf("postgres: %w %q", event.ErrUnknownKind, string(k))
		r.b = nil
	}
	return k
}

var knownNames = func() map[string]string {
	m := map[string]string{}
	for _, k := range event.Kinds() {
		m[string(k)] = string(k)
	}
	for _, c := range event.Channels() {
		m[string(c)] = string(c)
	}
	for _, k := range []rule.DecisionKind{rule.Scheduled, rule.Suppressed, rule.Cancelled, rule.Duplicate, rule.Ignored,
		rule.Delivered, rule.Retried, rule.Failed, rule.Deferred, rule.HeldOut, rule.Converted} {
		m[string(k)] = string(k)
	}
	return m
}()

func (r *reader) time() time.Time {
	form := r.byte()
	var off int64
	switch form {
	case timeZero:
		return time.Time{}
	case timeUTC:
	case timeZoned:
		off = r.varint()
	default:
		r.fail()
		return time.Time{}
	}
	sec, nsec := r.varint(), r.uvarint()
	if r.err != nil || nsec >= 1e9 || off <= math.MinInt32 || off >= math.MaxInt32 {
		r.fail()
		return time.Time{}
	}
	t := time.Unix(sec, int64(nsec))
	if form == timeUTC {
		return t.UTC()
	}
	return t.In(fixedZone(int(off)))
}

// fixedZone returns a zone of offset off with no name, as time.Parse makes
// for an RFC 3339 offset; the common ones are shared.
func fixedZone(off int) *time.Location {
	if off%900 == 0 && off > -14*3600 && off < 15*3600 {
		return zones[off/900+14*4]
	}
	return time.FixedZone("", off)
}

var zones = func() (z [29 * 4]*time.Location) {
	for i := range z {
		z[i] = time.FixedZone("", (i-14*4)*900)
	}
	return z
}()

func (r *reader) entries(n, depth int) map[string]any {
	m := make(map[string]any, n)
	for range n {
		k := r.string()
		v := r.value(depth)
		if r.err != nil {
			return nil
		}
		m[k] = v
	}
	return m
}

func (r *reader) value(depth int) any {
	if depth > maxDepth {
		r.fail()
		return nil
	}
	switch r.byte() {
	case valNil:
		return nil
	case valFalse:
		return false
	case valTrue:
		return true
	case valString:
		return r.string()
	case valNumber:
		// The encoder writes valid JSON numbers only: any other text is
		// a corrupt document, not a number no encoder could write back.
		s := r.string()
		if !validNumber(s) {
			r.fail()
			return nil
		}
		return json.Number(s)
	case valList:
		n := r.count()
		l := make([]any, n)
		for i := range l {
			l[i] = r.value(depth + 1)
		}
		return l
	case valObject:
		return r.entries(r.count(), depth+1)
	case valJSON:
		var v any
		if err := decodeJSONValue(r.bytes(), &v); err != nil {
			r.fail()
			return nil
		}
		return v
	}
	r.fail()
	return nil
}

// decodeJSONValue decodes a property value kept as JSON, numbers as
// json.Number.
func decodeJSONValue(b []byte, v *any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	return d.Decode(v)
}
