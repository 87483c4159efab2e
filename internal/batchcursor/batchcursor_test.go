package batchcursor

import "testing"

// TestRoundTripAndRefusals checks that a cursor decodes to its key for
// its own store, namespace and campaign only, and that an altered one is
// refused.
func TestRoundTripAndRefusals(t *testing.T) {
	k := Key{Kind: 't', N: -1234567890123, ID: "d-42 é"}
	c := Encode("postgres", "ns", "resend", k)
	if got, ok := Decode("postgres", "ns", "resend", c); !ok || got != k {
		t.Fatalf("Decode = %+v, %v; want %+v", got, ok, k)
	}
	for name, args := range map[string][4]string{
		"another store":     {"sqlite", "ns", "resend", c},
		"another namespace": {"postgres", "ns2", "resend", c},
		"another campaign":  {"postgres", "ns", "resend2", c},
		"a byte appended":   {"postgres", "ns", "resend", c + "A"},
		"a byte changed":    {"postgres", "ns", "resend", "B" + c[1:]},
		"not base64":        {"postgres", "ns", "resend", "!!"},
		"too short":         {"postgres", "ns", "resend", "AAAA"},
		"empty":             {"postgres", "ns", "resend", ""},
	} {
		if got, ok := Decode(args[0], args[1], args[2], args[3]); ok {
			t.Errorf("%s: Decode = %+v, accepted", name, got)
		}
	}
	// The namespace and campaign are length-prefixed in the checksum: a
	// split moved between them is another pair.
	c2 := Encode("postgres", "ab", "c", k)
	if _, ok := Decode("postgres", "a", "bc", c2); ok {
		t.Error("a cursor of (ab, c) accepted for (a, bc)")
	}
	if _, ok := Decode("postgres", "ns", "resend", Encode("postgres", "ns", "resend", Key{Kind: 't', ID: "\xff"})); ok {
		t.Error("an ID that is not valid UTF-8 accepted")
	}
}
