package rule_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/campaignconnector/campaignconnector/rule"
)

// bigCampaign returns a definition of about size bytes: triggers with
// conditions whose values are long lists, and a message of as many bytes.
func bigCampaign(size int) []byte {
	var b strings.Builder
	b.WriteString(`{"id":"big","delay":{"after":"1h"},"message":{"body":"` + strings.Repeat("x", size/2) + `"},"triggers":[`)
	for i := 0; b.Len() < size; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"kind":"purchase","where":[{"property":"p%d","op":"in","value":[`, i)
		for j := range 100 {
			if j > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `"v%d"`, j)
		}
		b.WriteString(`]}]}`)
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

// manyKeys returns a campaign with n keys in one object: the value of a
// condition, which the check leaves alone, or the message.
func manyKeys(n int, in string) []byte {
	var obj strings.Builder
	obj.WriteByte('{')
	for i := range n {
		if i > 0 {
			obj.WriteByte(',')
		}
		fmt.Fprintf(&obj, `"key%d":%d`, i, i)
	}
	obj.WriteByte('}')
	if in == "message" {
		return []byte(`{"id":"c","message":` + obj.String() + `}`)
	}
	return []byte(`{"id":"c","triggers":[{"kind":"purchase","where":[{"property":"p","op":"eq","value":` + obj.String() + `}]}]}`)
}

// The cost of the strict decoding, the duplicate-key check included, on a
// definition of 1 MB and one object of 10,000 keys, against encoding/json
// decoding the same bytes into a plain copy of the type (-benchmem; compare
// the two lines of a case).
func BenchmarkDecodeLargeDefinitions(b *testing.B) {
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"1MB", bigCampaign(1 << 20)},
		{"10000keys/condition", manyKeys(10000, "condition")},
		{"10000keys/message", manyKeys(10000, "message")},
	} {
		b.Run(tc.name+"/strict", func(b *testing.B) {
			b.SetBytes(int64(len(tc.data)))
			for b.Loop() {
				var c rule.Campaign
				if err := json.Unmarshal(tc.data, &c); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(tc.name+"/encoding-json", func(b *testing.B) {
			b.SetBytes(int64(len(tc.data)))
			for b.Loop() {
				var m map[string]any
				if err := json.Unmarshal(tc.data, &m); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(tc.name+"/stored", func(b *testing.B) {
			b.SetBytes(int64(len(tc.data)))
			for b.Loop() {
				if _, err := rule.DecodeStoredCampaign(tc.data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
