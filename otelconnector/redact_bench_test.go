package otelconnector

import (
	"strings"
	"testing"
)

// BenchmarkRedactUsers: leaving user IDs out of a 400 KB error text, an
// ordinary one (a thousand lines quoting a user) and a hostile one (a
// quote, then escaped quotes without an end).
func BenchmarkRedactUsers(b *testing.B) {
	users := map[string]bool{"ann@example.com": true, "bob@example.com": true}
	texts := map[string]string{
		"lines":  strings.Repeat(`connector: event 7: connector: directory: is "ann@example.com" in "vip": directory: connection refused`+"\n", 4000),
		"quotes": `"` + strings.Repeat(`\"`, 200_000) + "\n",
	}
	for name, text := range texts {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			for b.Loop() {
				redactUsers(text, users)
			}
		})
	}
}
