package store

import (
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// FuzzKeys checks that a delivery's ID and event ID come back from their
// compact form exactly as given, and that sameKeys tells them from others.
func FuzzKeys(f *testing.F) {
	for _, s := range []string{
		"", "ev-1", "6f1c2a3e-9b4d-4c8e-a1f2-3b4c5d6e7f80", "6F1C2A3E-9B4D-4C8E-A1F2-3B4C5D6E7F80",
		"6f1C2a3e-9b4d-4c8e-a1f2-3b4c5d6e7f80", "00000000-0000-0000-0000-000000000000",
		"6f1c2a3e-9b4d-4c8e-a1f2-3b4c5d6e7f8g", "6f1c2a3e9b4d4c8ea1f23b4c5d6e7f80abcd", "é" + strings.Repeat("-", 34),
	} {
		f.Add("AAAAAAAAAAAAAAAA", s, "6f1c2a3e-9b4d-4c8e-a1f2-3b4c5d6e7f81")
	}
	f.Fuzz(func(t *testing.T, id, trigger, other string) {
		if len(id) > maxKeyID {
			t.Skip("a delivery ID longer than maxKeyID is kept whole, never in keys")
		}
		var mp memPending
		mp.setKeys(id, trigger)
		require.Equal(t, id, mp.deliveryID())
		require.Equal(t, trigger, mp.triggerID())
		require.True(t, mp.sameKeys(id, trigger))
		require.Equal(t, other == trigger, mp.sameKeys(id, other), "event ID %q against %q", trigger, other)
		require.False(t, mp.sameKeys(id+"x", trigger))
		spelled := mp
		spelled.spellKeys()
		require.Equal(t, id, spelled.deliveryID(), "spelled out")
		require.Equal(t, trigger, spelled.triggerID(), "spelled out")
		require.True(t, spelled.sameKeys(id, trigger), "spelled out")
		require.Equal(t, other == trigger, spelled.sameKeys(id, other), "spelled out")
		if _, form := packUUID(trigger); form != keyInKeys || len(trigger) <= 16 {
			require.Equal(t, id, mp.keys, "a UUID or a short event ID is kept inline")
		}
	})
}

// TestPackUUIDForms checks which event IDs are kept as 16 bytes.
func TestPackUUIDForms(t *testing.T) {
	for s, want := range map[string]uint8{
		"6f1c2a3e-9b4d-4c8e-a1f2-3b4c5d6e7f80":  keyUUIDLower,
		"6F1C2A3E-9B4D-4C8E-A1F2-3B4C5D6E7F80":  keyUUIDUpper,
		"00000000-0000-0000-0000-000000000000":  keyUUIDLower,
		"6f1C2a3e-9b4d-4c8e-a1f2-3b4c5d6e7f80":  keyInKeys, // mixed case: not written back the same
		"6f1c2a3e-9b4d-4c8e-a1f2-3b4c5d6e7f8g":  keyInKeys,
		"6f1c2a3e-9b4d-4c8e-a1f2_3b4c5d6e7f80":  keyInKeys,
		"6f1c2a3e-9b4d-4c8e-a1f2-3b4c5d6e7f8":   keyInKeys,
		"6f1c2a3e-9b4d-4c8e-a1f2-3b4c5d6e7f800": keyInKeys,
	} {
		_, form := packUUID(s)
		require.Equal(t, want, form, s)
	}
}

// TestCompactRecordSizes pins the sizes the memory figures rest on: a
// user with one pending delivery fits the 128-byte size class.
func TestCompactRecordSizes(t *testing.T) {
	require.Equal(t, uintptr(88), unsafe.Sizeof(memPending{}))
	require.Equal(t, uintptr(128), unsafe.Sizeof(memUser{}))
}
