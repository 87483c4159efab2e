package twilio

import (
	"crypto/hmac"
	"errors"
	"fmt"
)

// maxPreviousKeys bounds how many times [WithPreviousKey] may be given.
const maxPreviousKeys = 4

// WithPreviousKey makes the parser also accept requests signed with key, an
// auth token being rotated out (the key is the account's previous auth
// token). While the token is rotated, Twilio may sign some requests with
// the old token and some with the new one, and it does not retry a status
// callback refused for its signature: give New the new token and this
// option the old one, rotate the token in Twilio's console (promote the
// secondary auth token), and remove the option once Twilio signs with the
// new token alone.
//
// A request is checked against the token given to New first, and against
// the previous tokens, in the order given, only when that check fails. The
// option may be given up to 4 times. An empty token, one with white space
// around it, the token given to New, a token given twice, or a fifth
// previous token is an error wrapping [webhook.ErrInvalidOption].
func WithPreviousKey(key string) Option {
	return func(p *Parser) error {
		if err := checkToken(key, "previous auth token"); err != nil {
			return err
		}
		switch {
		case hmac.Equal([]byte(key), p.token):
			return errors.New("twilio: previous auth token is the one given to New: give WithPreviousKey the token being rotated out")
		case len(p.previous) >= maxPreviousKeys:
			return fmt.Errorf("twilio: more than %d previous auth tokens", maxPreviousKeys)
		}
		for _, k := range p.previous {
			if hmac.Equal([]byte(key), k) {
				return errors.New("twilio: previous auth token given twice")
			}
		}
		p.previous = append(p.previous, []byte(key))
		return nil
	}
}

// tokensTried ends the error of a signature that matches no token: empty
// without previous tokens, so that the error reads as it always has.
func (p *Parser) tokensTried() string {
	if len(p.previous) == 0 {
		return ""
	}
	return fmt.Sprintf(" (the current auth token and %d previous tried)", len(p.previous))
}
