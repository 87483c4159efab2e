package mailgun

import (
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
)

// maxPreviousKeys bounds how many times [WithPreviousKey] may be given.
const maxPreviousKeys = 4

// WithPreviousKey makes the parser also accept requests signed with key, an
// HTTP webhook signing key being rotated out. While the key is rotated,
// Mailgun may sign some requests with the old key and some with the new
// one: give New the new key and this option the old one, rotate the key at
// Mailgun, and remove the option once Mailgun signs with the new key alone.
//
// A request is checked against the key given to New first, and against the
// previous keys, in the order given, only when that check fails. A token
// is accepted once whichever key signed it. The option may be given up to 4
// times. An empty key, one with white space around it, the key given to
// New, a key given twice, or a fifth previous key is an error
// wrapping [webhook.ErrInvalidOption].
func WithPreviousKey(key string) Option {
	return func(p *Parser) error {
		if err := checkKey(key, "previous signing key"); err != nil {
			return err
		}
		switch {
		case hmac.Equal([]byte(key), p.key):
			return errors.New("mailgun: previous signing key is the one given to New: give WithPreviousKey the key being rotated out")
		case len(p.previous) >= maxPreviousKeys:
			return fmt.Errorf("mailgun: more than %d previous signing keys", maxPreviousKeys)
		}
		for _, k := range p.previous {
			if hmac.Equal([]byte(key), k) {
				return errors.New("mailgun: previous signing key given twice")
			}
		}
		p.previous = append(p.previous, []byte(key))
		return nil
	}
}

// signed reports whether sig is the HMAC-SHA256 of timestamp followed by
// token under the key given to New or, when it is not, under one of the
// previous keys.
func (p *Parser) signed(timestamp, token string, sig []byte) bool {
	if hmac.Equal(sig, mac(p.key, timestamp, token)) {
		return true
	}
	for _, k := range p.previous {
		if hmac.Equal(sig, mac(k, timestamp, token)) {
			return true
		}
	}
	return false
}

// mac is the HMAC-SHA256 under key of timestamp followed by token.
func mac(key []byte, timestamp, token string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(timestamp))
	h.Write([]byte(token))
	return h.Sum(nil)
}

// keysTried ends the error of a signature that matches no key: empty
// without previous keys, so that the error reads as it always has.
func (p *Parser) keysTried() string {
	if len(p.previous) == 0 {
		return ""
	}
	return fmt.Sprintf(" (the current key and %d previous tried)", len(p.previous))
}
