package postgres

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/stretchr/testify/require"
)

// filler sets every exported field of a value, recursively, to something
// other than its zero value, so that a field the encoding forgets shows.
type filler struct{ r *rand.Rand }

var (
	timeType    = reflect.TypeOf(time.Time{})
	propsType   = reflect.TypeOf(map[string]any(nil))
	kindType    = reflect.TypeOf(event.Kind(""))
	channelType = reflect.TypeOf(event.Channel(""))
)

func (f filler) fill(v reflect.Value) {
	switch {
	case v.Type() == timeType:
		v.Set(reflect.ValueOf(f.time()))
		return
	case v.Type() == propsType:
		v.Set(reflect.ValueOf(f.props(0)))
		return
	case v.Type() == kindType: // JSON takes known kinds only
		kinds := event.Kinds()
		v.SetString(string(kinds[f.r.IntN(len(kinds))]))
		return
	case v.Type() == channelType:
		channels := event.Channels()
		v.SetString(string(channels[f.r.IntN(len(channels))]))
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				f.fill(v.Field(i))
			}
		}
	case reflect.String:
		v.SetString(f.text())
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int64, reflect.Int32:
		v.SetInt(1 + f.r.Int64N(1<<40) - 1<<39)
	case reflect.Uint64:
		v.SetUint(1 + f.r.Uint64N(1<<62))
	case reflect.Slice:
		n := 1 + f.r.IntN(3)
		s := reflect.MakeSlice(v.Type(), n, n)
		for i := range s.Len() {
			e := s.Index(i)
			if e.Kind() == reflect.Pointer {
				e.Set(reflect.New(e.Type().Elem()))
				e = e.Elem()
			}
			f.fill(e)
		}
		v.Set(s)
	default:
		panic(fmt.Sprintf("filler: no value for %s", v.Type()))
	}
}

var texts = []string{"a", "newsletter", "ünïcødé", "🙂", "a\x00b", "\u2028", "user-" + string(rune(0x10FFFF)), "x y\tz\n"}

func (f filler) text() string {
	if f.r.IntN(2) == 0 {
		return texts[f.r.IntN(len(texts))]
	}
	return fmt.Sprint("t", f.r.Uint64())
}

func (f filler) time() time.Time {
	t := time.Unix(f.r.Int64N(315_000_000_000)-62_000_000_000, f.r.Int64N(1e9)) // years 1 to 9950
	switch f.r.IntN(4) {
	case 0:
		return t.UTC()
	case 1:
		return t.In(time.FixedZone("CET", 3600))
	case 2:
		return t.In(time.FixedZone("", (f.r.IntN(2*1439+1)-1439)*60))
	}
	return t.In(time.FixedZone("odd", 0))
}

func (f filler) props(depth int) map[string]any {
	m := map[string]any{}
	for range 1 + f.r.IntN(4) {
		m[f.text()] = f.value(depth)
	}
	return m
}

func (f filler) value(depth int) any {
	switch f.r.IntN(14) {
	case 0:
		return nil
	case 1:
		return f.r.IntN(2) == 0
	case 2:
		return f.text()
	case 3:
		return json.Number([]string{"0", "-12.50", "1e400", "12345678901234567890", "-0.0", ""}[f.r.IntN(6)])
	case 4:
		return math.Float64frombits(f.r.Uint64()&^(0x7ff<<52) | uint64(f.r.IntN(0x7ff))<<52) // finite
	case 5:
		return float32(f.r.NormFloat64() * math.Pow(10, float64(f.r.IntN(60)-30)))
	case 6:
		return f.r.Int64() - math.MaxInt64/2
	case 7:
		return f.r.Uint64()
	case 8:
		return int8(f.r.IntN(256) - 128)
	case 9:
		return []string{"a", "b"} // no tag of its own: kept as JSON
	case 10:
		if depth < 4 {
			l := make([]any, f.r.IntN(3))
			for i := range l {
				l[i] = f.value(depth + 1)
			}
			return l
		}
	case 11:
		if depth < 4 {
			return f.props(depth + 1)
		}
	case 12:
		return []any(nil)
	case 13:
		return map[string]any{}
	}
	return 1.5
}

// viaJSON is what a value read back after a JSON round trip looks like, as
// the store kept documents before its binary encoding: numbers as
// json.Number.
func viaJSON[T any](tb testing.TB, v T) T {
	tb.Helper()
	b, err := json.Marshal(v)
	require.NoError(tb, err)
	var out T
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	require.NoError(tb, d.Decode(&out))
	return out
}

// sameTimes replaces each time in v by one in a zone of its offset alone
// (UTC at offset 0), as both encodings read times back.
func sameTimes(v reflect.Value) {
	switch {
	case v.Type() == timeType:
		if !v.CanSet() {
			return
		}
		t := v.Interface().(time.Time)
		if t.IsZero() {
			v.Set(reflect.ValueOf(time.Time{}))
		} else if _, off := t.Zone(); off == 0 {
			v.Set(reflect.ValueOf(t.UTC()))
		} else {
			v.Set(reflect.ValueOf(t.In(time.FixedZone("", off))))
		}
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			sameTimes(v.Elem())
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				sameTimes(v.Field(i))
			}
		}
	case reflect.Slice:
		for i := range v.Len() {
			sameTimes(v.Index(i))
		}
	}
}

func normalized[T any](v T) T {
	sameTimes(reflect.ValueOf(&v).Elem())
	return v
}

// The body of a pending row keeps every field of a delivery that is not a
// column, as the JSON document kept it.
func TestPendingBodyKeepsEveryField(t *testing.T) {
	for seed := range uint64(300) {
		f := filler{rand.New(rand.NewPCG(seed, 1))}
		var p store.Pending
		f.fill(reflect.ValueOf(&p).Elem())
		user := p.Trigger.UserID
		if seed%2 == 0 {
			user = "another user" // the trigger's user is kept when it is not the row's
		}
		body, err := appendPending(nil, user, &p)
		require.NoError(t, err)
		got := store.Pending{ID: p.ID, CampaignID: p.CampaignID, ReadyAt: p.ReadyAt, Token: p.Token}
		require.NoError(t, decodePending(&got, user, body))
		want := p
		want.Trigger = viaJSON(t, p.Trigger)
		require.Equal(t, normalized(want), normalized(got), "seed %d", seed)

		legacy := store.Pending{ID: p.ID, CampaignID: p.CampaignID, ReadyAt: p.ReadyAt, Token: p.Token}
		require.NoError(t, decodeLegacyPending(&legacy, mustJSON(t, legacyOf(&p))))
		fromLegacy := got
		fromLegacy.DirectoryErrors = 0 // the JSON documents predate the count
		require.Equal(t, normalized(fromLegacy), normalized(legacy), "seed %d: as the JSON document", seed)
	}
}

// A pending row's body ends with the fields added since the format began,
// which a decoder of an earlier version skips: a field of a later version
// is skipped here, a cut or malformed one is corrupt, and so is a flag
// this build does not know.
func TestPendingBodyTail(t *testing.T) {
	p := store.Pending{ID: "d", DirectoryErrors: 3, Trigger: event.Event{UserID: "u", Kind: event.EmailOpened}}
	body, err := appendPending(nil, "u", &p)
	require.NoError(t, err)
	plain, err := appendPending(nil, "u", &store.Pending{ID: "d", Trigger: p.Trigger})
	require.NoError(t, err)
	require.Equal(t, plain, body[:len(plain)], "the count comes after the trigger")

	decode := func(b []byte) (store.Pending, error) {
		got := store.Pending{DirectoryErrors: 99} // a reused value: the count must be overwritten
		return got, decodePending(&got, "u", b)
	}
	got, err := decode(body)
	require.NoError(t, err)
	require.Equal(t, 3, got.DirectoryErrors)
	got, err = decode(plain)
	require.NoError(t, err)
	require.Zero(t, got.DirectoryErrors, "a body without the field")

	later := append(slices.Clone(body), 7, 3, 'a', 'b', 'c') // tag 7, three bytes
	got, err = decode(later)
	require.NoError(t, err, "a later version's field is skipped")
	require.Equal(t, 3, got.DirectoryErrors)
	earlier := append(slices.Clone(plain), 7, 3, 'a', 'b', 'c')
	got, err = decode(earlier)
	require.NoError(t, err)
	require.Zero(t, got.DirectoryErrors)

	for name, bad := range map[string][]byte{
		"cut":               body[:len(body)-1],
		"length past end":   append(slices.Clone(plain), 7, 4, 'a'),
		"count with excess": append(slices.Clone(plain), tailDirectoryErrors, 2, 6, 0),
		"empty count":       append(slices.Clone(plain), tailDirectoryErrors, 0),
		"zero count":        append(slices.Clone(plain), tailDirectoryErrors, 1, 0),
		"tag alone":         append(slices.Clone(plain), 7),
		"tag 0":             append(slices.Clone(plain), 0, 0),
		"tags out of order": append(slices.Clone(body), 7, 0, 2, 0),
		"a tag twice":       append(slices.Clone(body), tailDirectoryErrors, 1, 6),
	} {
		_, err := decode(bad)
		require.ErrorIs(t, err, errCorrupt, name)
	}
	flagged := slices.Clone(body)
	flagged[1] |= knownPendingFlags + 1
	_, err = decode(flagged)
	require.ErrorIs(t, err, errCorrupt, "an unknown flag")
}

// A user's body keeps every field of its receipts, sends, conversion
// windows and decisions, as the JSON document kept them.
func TestStateBodyKeepsEveryField(t *testing.T) {
	for seed := range uint64(300) {
		f := filler{rand.New(rand.NewPCG(seed, 2))}
		var u store.UserState
		for _, v := range []any{&u.Receipts, &u.Sends, &u.Conversions, &u.Log} {
			f.fill(reflect.ValueOf(v).Elem())
		}
		var got store.UserState
		require.NoError(t, decodeState(&got, appendState(nil, &u)))
		require.Equal(t, normalized(u), normalized(got), "seed %d", seed)
		require.Equal(t, normalized(viaJSON(t, u)), normalized(got), "seed %d: as the JSON document", seed)
	}
}

// A user's body ends with the fields added since the format began: the
// windows of the control group are listed there, a state written before
// (with none) reads back with none, a later version's field is skipped,
// and a cut or malformed list is corrupt.
func TestStateBodyTail(t *testing.T) {
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	u := store.UserState{Conversions: []store.ConversionWindow{
		{CampaignID: "a", ConversionID: "buy", Opened: at, Deadline: at.Add(72 * time.Hour)},
		{CampaignID: "b", ConversionID: "buy", Opened: at, Deadline: at.Add(72 * time.Hour)},
	}}
	// u as the format wrote it before the tail: two windows, no log.
	old, err := hex.DecodeString("0100000201610362757901a080a09a0d0001a0d2bf9a0d0001620362757901a080a09a0d0001a0d2bf9a0d0000")
	require.NoError(t, err)
	require.Equal(t, old, appendState(nil, &u), "a state without a window of the control group is written as before")

	decode := func(b []byte) (store.UserState, error) {
		var got store.UserState
		return got, decodeState(&got, b)
	}
	got, err := decode(old)
	require.NoError(t, err)
	require.Equal(t, u, got, "a window stored before the mark existed is a receipt's")

	u.Conversions[1].Control = true
	body := appendState(nil, &u)
	require.Equal(t, old, body[:len(old)], "the list comes after the log")
	require.Equal(t, []byte{tailControlWindows, 1, 1}, body[len(old):])
	got, err = decode(body)
	require.NoError(t, err)
	require.Equal(t, u, got)
	u.Conversions[0].Control = true
	got, err = decode(appendState(nil, &u))
	require.NoError(t, err)
	require.Equal(t, u, got)

	later := append(slices.Clone(body), 7, 3, 'a', 'b', 'c') // tag 7, three bytes
	got, err = decode(later)
	require.NoError(t, err, "a later version's field is skipped")
	require.Equal(t, []bool{false, true}, []bool{got.Conversions[0].Control, got.Conversions[1].Control})

	for name, bad := range map[string][]byte{
		"cut":                  body[:len(body)-1],
		"empty list":           append(slices.Clone(old), tailControlWindows, 0),
		"index past the list":  append(slices.Clone(old), tailControlWindows, 1, 2),
		"an index twice":       append(slices.Clone(old), tailControlWindows, 2, 1, 1),
		"indexes out of order": append(slices.Clone(old), tailControlWindows, 2, 1, 0),
		"tag alone":            append(slices.Clone(old), 7),
		"tag 0":                append(slices.Clone(old), 0, 0),
		"a tag twice":          append(slices.Clone(body), tailControlWindows, 1, 0),
	} {
		_, err := decode(bad)
		require.ErrorIs(t, err, errCorrupt, name)
	}
	_, err = decode(append(appendState(nil, &store.UserState{}), tailControlWindows, 1, 0))
	require.ErrorIs(t, err, errCorrupt, "a window of the control group in a state without windows")
}

// Deliveries and states with nothing in them read back as such: no empty
// slices or maps where JSON left none.
func TestBodiesOfEmptyValues(t *testing.T) {
	p := store.Pending{ID: "d", Trigger: event.Event{UserID: "u", Properties: map[string]any{}}}
	body, err := appendPending(nil, "u", &p)
	require.NoError(t, err)
	var got store.Pending
	got.ID = "d"
	require.NoError(t, decodePending(&got, "u", body))
	require.Nil(t, got.Trigger.Properties)
	require.Equal(t, p.Trigger.UserID, got.Trigger.UserID)

	var u store.UserState
	require.NoError(t, decodeState(&u, appendState(nil, &store.UserState{})))
	require.Equal(t, store.UserState{}, u)
}

// Equal maps encode alike whatever their iteration order: the store
// compares bodies to tell what changed.
func TestBodiesAreDeterministic(t *testing.T) {
	f := filler{rand.New(rand.NewPCG(7, 7))}
	p := store.Pending{Trigger: event.Event{UserID: "u", Properties: f.props(0)}}
	first, err := appendPending(nil, "u", &p)
	require.NoError(t, err)
	for range 50 {
		again, err := appendPending(nil, "u", &p)
		require.NoError(t, err)
		require.Equal(t, first, again)
	}
}

// Values no store keeps fail to encode with an error, as JSON does.
func TestBodiesRefuseWhatJSONRefuses(t *testing.T) {
	for _, v := range []any{math.NaN(), math.Inf(1), float32(math.Inf(-1)), json.Number("0x10"), json.Number("1_000"), func() {}} {
		p := store.Pending{Trigger: event.Event{Kind: event.Purchase, Properties: map[string]any{"v": v}}}
		_, err := appendPending(nil, "u", &p)
		require.Error(t, err, "%#v", v)
		_, jerr := json.Marshal(p.Trigger)
		require.Error(t, jerr, "%#v", v)
	}
}

// A document whose number is text the encoder refuses to write (leading
// zeros, hex) is corrupt: decoding it fails, rather than giving a
// property that no update could write back.
func TestBodiesWithAnInvalidNumberDoNotDecode(t *testing.T) {
	for _, bad := range []string{"0012", "0x10", "1_00", "12e+"} {
		p := store.Pending{ID: "d", Trigger: event.Event{UserID: "u", Kind: event.Purchase, Properties: map[string]any{"n": json.Number("1234")}}}
		body, err := appendPending(nil, "u", &p)
		require.NoError(t, err)
		require.Equal(t, 1, bytes.Count(body, []byte("1234")))
		body = bytes.Replace(body, []byte("1234"), []byte(bad), 1)
		require.ErrorIs(t, decodePending(&store.Pending{ID: "d"}, "u", body), errCorrupt, "number %q", bad)
	}
}

// A document with an event kind this version does not know (a newer
// version's) fails to decode with an error naming the kind, as JSON does:
// the store leaves such a delivery to a process that reads it.
func TestBodiesWithAnUnknownEventKindDoNotDecode(t *testing.T) {
	p := store.Pending{ID: "d", Trigger: event.Event{UserID: "u", Kind: event.EmailReceived}}
	body, err := appendPending(nil, "u", &p)
	require.NoError(t, err)
	body = bytes.Replace(body, []byte("email_received"), []byte("whatsapp_read_"), 1)
	err = decodePending(&store.Pending{ID: "d"}, "u", body)
	require.ErrorIs(t, err, event.ErrUnknownKind)
	require.ErrorContains(t, err, "whatsapp_read_")

	u := store.UserState{Log: []rule.Decision{{Kind: rule.Scheduled, EventKind: event.EmailReceived}}}
	body = bytes.Replace(appendState(nil, &u), []byte("email_received"), []byte("whatsapp_read_"), 1)
	require.ErrorIs(t, decodeState(&store.UserState{}, body), event.ErrUnknownKind)
}

// Numbers are written as encoding/json writes them.
func FuzzNumberText(f *testing.F) {
	for _, x := range []float64{0, math.Copysign(0, -1), 1, 1e20, 1e21, 1e-6, 1e-7, 123.456, math.MaxFloat64, math.SmallestNonzeroFloat64, 5e-324, -1.5e300} {
		f.Add(x, false)
		f.Add(x, true)
	}
	f.Fuzz(func(t *testing.T, x float64, single bool) {
		var v any = x
		if single {
			v = float32(x)
		}
		want, jerr := json.Marshal(v)
		b, err := appendValue(nil, v, 0)
		if jerr != nil {
			require.Error(t, err)
			return
		}
		require.NoError(t, err)
		r := reader{b: b}
		require.Equal(t, json.Number(want), r.value(0))
	})
}

// Properties read back as from their JSON.
func FuzzPropertiesAsJSON(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":1}`, `{"price":10.50,"big":12345678901234567890,"l":["a",1,true,null,{"x":{}},[]]}`,
		`{"e":1e400,"s":"\u0000é"}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		var props map[string]any
		d := json.NewDecoder(bytes.NewReader([]byte(doc)))
		d.UseNumber()
		if d.Decode(&props) != nil {
			return
		}
		p := store.Pending{Trigger: event.Event{UserID: "u", Kind: event.Purchase, Properties: props}}
		body, err := appendPending(nil, "u", &p)
		require.NoError(t, err)
		var got store.Pending
		require.NoError(t, decodePending(&got, "u", body))
		require.Equal(t, viaJSON(t, p.Trigger).Properties, got.Trigger.Properties)
	})
}

// Whatever the bytes, decoding returns an error or a value that encodes
// and decodes to itself; it never panics.
func FuzzDecodeBodies(f *testing.F) {
	fl := filler{rand.New(rand.NewPCG(3, 3))}
	for range 5 {
		var p store.Pending
		fl.fill(reflect.ValueOf(&p).Elem())
		body, err := appendPending(nil, "u", &p)
		require.NoError(f, err)
		f.Add(body)
		var u store.UserState
		for _, v := range []any{&u.Receipts, &u.Sends, &u.Conversions, &u.Log} {
			fl.fill(reflect.ValueOf(v).Elem())
		}
		f.Add(appendState(nil, &u))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var p store.Pending
		if decodePending(&p, "u", body) == nil {
			again, err := appendPending(nil, "u", &p)
			require.NoError(t, err)
			var back store.Pending
			require.NoError(t, decodePending(&back, "u", again))
			require.Equal(t, normalized(p), normalized(back))
		}
		var u store.UserState
		if decodeState(&u, body) == nil {
			var back store.UserState
			require.NoError(t, decodeState(&back, appendState(nil, &u)))
			require.Equal(t, normalized(u), normalized(back))
		}
	})
}

func legacyOf(p *store.Pending) *legacyPending {
	return &legacyPending{Activation: p.Activation, Trigger: p.Trigger, DueAt: p.DueAt, Attempt: p.Attempt,
		Sending: p.Sending, CancelOnFailure: p.CancelOnFailure, Backfilled: p.Backfilled, Control: p.Control}
}

func mustJSON(tb testing.TB, v any) []byte {
	tb.Helper()
	b, err := json.Marshal(v)
	require.NoError(tb, err)
	return b
}
