package rule

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// probeType returns a struct with a json.RawMessage field for each JSON
// name the wire forms of the rule types decode: encoding/json sets exactly
// the field a key maps to, whatever the key's value.
func probeType() reflect.Type {
	seen := map[string]bool{}
	var fields []reflect.StructField
	for _, wire := range []reflect.Type{
		reflect.TypeFor[campaignJSON](), reflect.TypeFor[matcherJSON](), reflect.TypeFor[conditionJSON](),
		reflect.TypeFor[delayJSON](), reflect.TypeFor[reeligibilityJSON](), reflect.TypeFor[sendWindowJSON](),
		reflect.TypeFor[conversionJSON](),
	} {
		for _, f := range jsonFields(wire) {
			if seen[f.name] {
				continue
			}
			seen[f.name] = true
			fields = append(fields, reflect.StructField{
				Name: "F" + strings.Repeat("x", len(fields)), // distinct exported Go names
				Type: reflect.TypeFor[json.RawMessage](),
				Tag:  reflect.StructTag(`json:"` + f.name + `"`),
			})
		}
	}
	return reflect.StructOf(fields)
}

// fieldByJSON returns the index of the field of probe that encoding/json
// sets for key, or -1.
func fieldByJSON(probe reflect.Type, key string) int {
	name, _ := json.Marshal(key)
	v := reflect.New(probe)
	if json.Unmarshal([]byte(`{`+string(name)+`:0}`), v.Interface()) != nil {
		return -1
	}
	for i := range probe.NumField() {
		if v.Elem().Field(i).Len() > 0 {
			return i
		}
	}
	return -1
}

// topKeys returns the keys of the JSON object b, decoded, in order.
func topKeys(b []byte) ([]string, bool) {
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, false
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, false
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, false
		}
		keys = append(keys, tok.(string))
	}
	return keys, true
}

// FuzzDuplicateKeyAgreesWithEncodingJSON: on any valid JSON object, the
// duplicate-key check reports a key exactly when encoding/json maps it to
// a field an earlier key already set, and names that earlier key: the
// scanner reads keys as encoding/json does (escapes, surrogates, invalid
// UTF-8, strings holding brackets) and folds case as it does ("K" U+212A
// and "ſ" U+017F take "kind" and "days", "ı" U+0131 takes nothing).
func FuzzDuplicateKeyAgreesWithEncodingJSON(f *testing.F) {
	for _, s := range []string{
		`{"kind":1,"Kind":2}`, `{"kind":1,"\u212aind":2}`, `{"\u212Aind":1,"KIND":2}`, `{"days":[],"dayſ":[]}`,
		`{"kınd":1,"kind":2}`, `{"k\u0131nd":1,"kind":2}`, `{"id":"\"}{][","ID":{"a":["}"]}}`,
		`{"\u0000":1,"id":2,"i\u0064":3}`, `{"name":"\ud83d\ude00","name\ud800":1,"name":2}`,
		`{"x":1e-7,"id":-0.5e+3,"Id":true}`, "{\"id\xff\":1,\"id\":2}", " {\t\"id\" :\r\n null , \"iD\":false}",
		`{"where":[{"property":"a"}],"WHERE":null}`, `{"a":{"id":1},"id":2}`, `{"campaign_id":1,"campaign_ID":2}`,
		`{"next_available":1,"NEXT_AVAILABLE":2}`, `{"ſ":1,"s":2}`,
	} {
		f.Add([]byte(s))
	}
	probe := probeType()
	f.Fuzz(func(t *testing.T, data []byte) {
		if !json.Valid(data) {
			return
		}
		keys, ok := topKeys(data)
		if !ok {
			return
		}
		var wantKey, wantFirst string
		wantDup := false
		setBy := map[int]string{}
	scan:
		for _, k := range keys {
			i := fieldByJSON(probe, k)
			if i < 0 {
				continue
			}
			if first, ok := setBy[i]; ok {
				wantKey, wantFirst, wantDup = k, first, true
				break scan
			}
			setBy[i] = k
		}
		where, key, first, dup := findDuplicate(data, probe, "")
		if dup != wantDup || key != wantKey || first != wantFirst || where != "" {
			t.Fatalf("%q: findDuplicate says (%q, %q, %q, %v), encoding/json (%q, %q, %v)",
				data, where, key, first, dup, wantKey, wantFirst, wantDup)
		}
	})
}
