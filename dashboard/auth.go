package dashboard

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
)

// basicAuth checks HTTP basic credentials. It keeps digests, not the
// secrets, and compares digests of equal length in constant time, so the
// time a check takes says nothing about how much of a guess was right, nor
// how long the password is.
type basicAuth struct {
	user, password [sha256.Size]byte
}

func newBasicAuth(user, password string) *basicAuth {
	return &basicAuth{user: sha256.Sum256([]byte(user)), password: sha256.Sum256([]byte(password))}
}

// allows reports whether r carries the expected credentials.
func (a *basicAuth) allows(r *http.Request) bool {
	user, password, ok := r.BasicAuth()
	u := sha256.Sum256([]byte(user))
	p := sha256.Sum256([]byte(password))
	// Both comparisons always run: a wrong user name costs the same as a
	// wrong password.
	match := subtle.ConstantTimeCompare(u[:], a.user[:]) & subtle.ConstantTimeCompare(p[:], a.password[:])
	return ok && match == 1
}

// challenge answers a request without the right credentials.
func (a *basicAuth) challenge(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Basic realm="campaignconnector dashboard", charset="UTF-8"`)
	http.Error(w, "401 unauthorized", http.StatusUnauthorized)
}
