package store

import "unsafe"

// A compact delivery keeps its ID as the string it was given and its
// trigger's event ID in one of two ways. Most providers' event IDs are
// UUIDs: one in canonical form (8-4-4-4-12 hex digits, all lower or all
// upper case) is kept inline as its 16 bytes, and so is any event ID of
// 16 bytes or less; the record then holds no reference to the host's
// event ID string (48 bytes for a UUID). A longer event ID is kept after
// the delivery ID in one string. Reading an inline event ID back costs a
// small allocation but no cache miss: the bytes sit in the record the
// load reads anyway.
const (
	keyInKeys    uint8 = iota // the event ID follows the delivery ID in keys
	keyUUIDLower              // a lower-case UUID, as 16 bytes in trig
	keyUUIDUpper              // an upper-case UUID, as 16 bytes in trig
	keyShort                  // keyShort+n: an event ID of n ≤ 16 bytes in trig
)

// maxKeyID is the longest delivery ID a compact delivery holds; a longer
// one is kept whole (the engine's are 16 bytes).
const maxKeyID = 1<<8 - 1

// uuidDigits are where each byte of a UUID is written in its canonical
// form: two hex digits from each position, dashes at 8, 13, 18 and 23.
var uuidDigits = [16]uint8{0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34}

// hexValue maps a byte to its value as a hex digit, with hexLower set for
// a-f, hexUpper for A-F, and hexNone for anything else.
var hexValue = func() (t [256]uint8) {
	for c := range t {
		switch {
		case c >= '0' && c <= '9':
			t[c] = uint8(c - '0')
		case c >= 'a' && c <= 'f':
			t[c] = uint8(c-'a'+10) | hexLower
		case c >= 'A' && c <= 'F':
			t[c] = uint8(c-'A'+10) | hexUpper
		default:
			t[c] = hexNone
		}
	}
	return t
}()

const (
	hexLower = 1 << 4
	hexUpper = 1 << 5
	hexNone  = 1 << 7
)

const (
	lowerDigits = "0123456789abcdef"
	upperDigits = "0123456789ABCDEF"
)

// digitsOf returns the hex digits a UUID of form is written with.
func digitsOf(form uint8) string {
	if form == keyUUIDUpper {
		return upperDigits
	}
	return lowerDigits
}

// packUUID returns the 16 bytes of s if s is a UUID in canonical form, all
// lower or all upper case, and the form it is in; form keyInKeys otherwise.
// Digits alone count as lower case.
func packUUID(s string) (b [16]byte, form uint8) {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return b, keyInKeys
	}
	var seen uint8
	for i, at := range uuidDigits {
		hi, lo := hexValue[s[at]], hexValue[s[at+1]]
		seen |= hi | lo
		b[i] = hi<<4 | lo&15
	}
	switch {
	case seen&hexNone != 0 || seen&(hexLower|hexUpper) == hexLower|hexUpper:
		return b, keyInKeys
	case seen&hexUpper != 0:
		return b, keyUUIDUpper
	}
	return b, keyUUIDLower
}

// unpackUUID writes the 16 bytes of b as a canonical UUID in form.
func unpackUUID(b *[16]byte, form uint8) string {
	buf := make([]byte, 36)
	writeUUID(buf, b, form)
	return unsafe.String(unsafe.SliceData(buf), len(buf))
}

// writeUUID writes the 16 bytes of b into dst[:36] as a canonical UUID in
// form.
func writeUUID(dst []byte, b *[16]byte, form uint8) {
	digits := digitsOf(form)
	dst = dst[:36]
	dst[8], dst[13], dst[18], dst[23] = '-', '-', '-', '-'
	for i, at := range uuidDigits {
		dst[at], dst[at+1] = digits[b[i]>>4], digits[b[i]&15]
	}
}

// isUUID reports whether s is the UUID whose 16 bytes are b, written in
// form.
func isUUID(s string, b *[16]byte, form uint8) bool {
	digits := digitsOf(form)
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return false
	}
	for i, at := range uuidDigits {
		if s[at] != digits[b[i]>>4] || s[at+1] != digits[b[i]&15] {
			return false
		}
	}
	return true
}

// setKeys stores a delivery's ID and its trigger's event ID in mp.
func (mp *memPending) setKeys(id, trigger string) {
	mp.keys, mp.idLen = id, uint8(len(id))
	if b, form := packUUID(trigger); form != keyInKeys {
		mp.trig, mp.keyForm = b, form
		return
	}
	if len(trigger) <= len(mp.trig) {
		mp.keyForm = keyShort + uint8(copy(mp.trig[:], trigger))
		return
	}
	buf := make([]byte, len(id)+len(trigger))
	copy(buf[copy(buf, id):], trigger)
	mp.keys, mp.keyForm = unsafe.String(unsafe.SliceData(buf), len(buf)), keyInKeys
}

// spellKeys writes an inline event ID out after the delivery ID in keys,
// once: a claimed delivery is loaded again by each update of its send (the
// check before it and the outcome), which then read the event ID without
// writing it out each time. The delivery goes when it is sent, so the
// longer form lasts as long as the send.
func (mp *memPending) spellKeys() {
	f := mp.keyForm
	if f == keyInKeys || f == keyShort {
		return // in keys already, or no event ID
	}
	n := 36
	if f > keyShort {
		n = int(f - keyShort)
	}
	buf := make([]byte, int(mp.idLen)+n)
	at := copy(buf, mp.deliveryID())
	if f > keyShort {
		copy(buf[at:], mp.trig[:n])
	} else {
		writeUUID(buf[at:], &mp.trig, f)
	}
	mp.keys, mp.keyForm = unsafe.String(unsafe.SliceData(buf), len(buf)), keyInKeys
}

// deliveryID returns the delivery's ID.
func (mp *memPending) deliveryID() string { return mp.keys[:mp.idLen] }

// triggerID returns the delivery's trigger's event ID.
func (mp *memPending) triggerID() string {
	switch f := mp.keyForm; {
	case f == keyInKeys:
		return mp.keys[mp.idLen:]
	case f == keyShort:
		return ""
	case f > keyShort:
		return string(mp.trig[:f-keyShort])
	}
	return unpackUUID(&mp.trig, mp.keyForm)
}

// sameKeys reports whether mp holds a delivery with ID id triggered by the
// event with ID trigger, without writing the event ID back.
func (mp *memPending) sameKeys(id, trigger string) bool {
	if mp.deliveryID() != id {
		return false
	}
	switch f := mp.keyForm; {
	case f == keyInKeys:
		return mp.keys[mp.idLen:] == trigger
	case f >= keyShort:
		return string(mp.trig[:f-keyShort]) == trigger
	}
	return isUUID(trigger, &mp.trig, mp.keyForm)
}
