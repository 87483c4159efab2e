package webhook

import (
	"fmt"
	"time"
)

// AgeError reports a request whose signed time is too far from the
// parser's clock: most likely a captured request replayed, after the
// engine's deduplication window would have let its events count again.
// It wraps [ErrSignature] ([Handler] answers 401); the parsers that sign
// a time return it (sendgrid and ses with their max age), and errors.As
// finds it.
type AgeError struct {
	// Provider names the parser: "sendgrid", "ses".
	Provider string
	// Signed is the time as the request carries it: "SNS Timestamp
	// 2026-01-05T08:00:00.000Z", "timestamp 1767600000".
	Signed string
	// Age is the parser's now minus the signed time: negative for a time
	// in the future.
	Age time.Duration
	// Max is the parser's limit, either way.
	Max time.Duration
}

// Error implements error: `ses: webhook: signature check failed: SNS
// Timestamp … off by 73h0m0s, over 24h0m0s`.
func (e *AgeError) Error() string {
	return fmt.Sprintf("%s: %v: %s off by %v, over %v", e.Provider, ErrSignature, e.Signed, e.Age, e.Max)
}

// Unwrap returns [ErrSignature].
func (e *AgeError) Unwrap() error { return ErrSignature }
