// Package batchcursor encodes the cursors the SQL stores' CancelCampaignBatch
// hands out: where a walk of a campaign's pending deliveries in (due time,
// ID) order resumes, checked on the way back in so that a cursor of
// another store, namespace or campaign, or one altered, is refused.
package batchcursor

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"unicode/utf8"
)

// Key is a cursor's content: Kind, a byte of the store's choosing that
// says what N holds (a due time in the store's unit, or a mark such as
// an infinity, with N 0), N, and the delivery's ID.
type Key struct {
	Kind byte
	N    int64
	ID   string
}

// head is the length of a cursor's Kind and N.
const head = 1 + 8

// Encode returns k as a cursor of store storeName for campaign campaignID
// of namespace ns: in unpadded URL base64, Kind, N (8 bytes, big-endian),
// the ID, then the CRC-32 of the store's name, the namespace, the
// campaign and all that (4 bytes).
func Encode(storeName, ns, campaignID string, k Key) string {
	b := make([]byte, head, head+len(k.ID)+4)
	b[0] = k.Kind
	binary.BigEndian.PutUint64(b[1:], uint64(k.N))
	b = append(b, k.ID...)
	b = binary.BigEndian.AppendUint32(b, sum(storeName, ns, campaignID, b))
	return base64.RawURLEncoding.EncodeToString(b)
}

// Decode returns the key of cursor, which Encode made with the same
// store name, namespace and campaign; ok is false for any other text
// (another store's, namespace's or campaign's cursor, one altered, or an
// ID that is not valid UTF-8). The caller checks Kind and N.
func Decode(storeName, ns, campaignID, cursor string) (k Key, ok bool) {
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil || len(b) < head+4 {
		return Key{}, false
	}
	payload, s := b[:len(b)-4], binary.BigEndian.Uint32(b[len(b)-4:])
	if sum(storeName, ns, campaignID, payload) != s {
		return Key{}, false
	}
	k = Key{Kind: payload[0], N: int64(binary.BigEndian.Uint64(payload[1:head])), ID: string(payload[head:])}
	if !utf8.ValidString(k.ID) {
		return Key{}, false
	}
	return k, true
}

func sum(storeName, ns, campaignID string, payload []byte) uint32 {
	h := crc32.NewIEEE()
	fmt.Fprintf(h, "%s %d:%s%d:%s", storeName, len(ns), ns, len(campaignID), campaignID)
	h.Write(payload)
	return h.Sum32()
}
