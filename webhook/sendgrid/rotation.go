package sendgrid

import (
	"crypto/ecdsa"
	"errors"
	"fmt"
)

// maxPreviousKeys bounds how many times [WithPreviousKey] may be given.
const maxPreviousKeys = 4

// WithPreviousKey makes the parser also accept requests signed with key, a
// verification key being rotated out, in the same shapes [New] accepts.
// While a key is rotated, SendGrid signs some requests with the old key
// and some with the new one: give New the new key and this option the old
// one, rotate the key at SendGrid, and remove the option once SendGrid
// signs with the new key alone.
//
// A request is checked against the key given to New first, and against the
// previous keys, in the order given, only when that check fails. The
// option may be given up to 4 times. An empty or malformed key, the key
// given to New, a key given twice, or a fifth previous key is an error
// wrapping [webhook.ErrInvalidOption].
func WithPreviousKey(key string) Option {
	return func(p *Parser) error {
		prev, err := parsePublicKey(key, "previous verification key")
		if err != nil {
			return err
		}
		switch {
		case prev.Equal(p.key):
			return errors.New("sendgrid: previous verification key is the one given to New: give WithPreviousKey the key being rotated out")
		case p.nPrevious >= maxPreviousKeys:
			return fmt.Errorf("sendgrid: more than %d previous verification keys", maxPreviousKeys)
		}
		for _, k := range p.previous[:p.nPrevious] {
			if prev.Equal(k) {
				return errors.New("sendgrid: previous verification key given twice")
			}
		}
		p.previous[p.nPrevious] = prev
		p.nPrevious++
		return nil
	}
}

// verifies reports whether sig is the signature of digest under the key
// given to New or, when it is not, under one of the previous keys.
func (p *Parser) verifies(digest, sig []byte) bool {
	if ecdsa.VerifyASN1(p.key, digest, sig) {
		return true
	}
	for _, k := range p.previous[:p.nPrevious] {
		if ecdsa.VerifyASN1(k, digest, sig) {
			return true
		}
	}
	return false
}

// keysTried ends the error of a signature that matches no key: empty
// without previous keys, so that the error reads as it always has.
func (p *Parser) keysTried() string {
	if p.nPrevious == 0 {
		return ""
	}
	return fmt.Sprintf(" (the current key and %d previous tried)", p.nPrevious)
}
