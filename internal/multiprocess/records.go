package multiprocess

import (
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Send is one "sent" line of a child's sends file.
type Send struct {
	Proc    string    // the child's name
	ID      string    // the delivery's ID
	User    string    // its user
	Attempt int       // its attempt
	At      time.Time // when the child's sender was called
}

// ReadSends reads the "sent" lines of the children's files.
func ReadSends(t *testing.T, children ...*Process) []Send {
	t.Helper()
	var out []Send
	for _, c := range children {
		for _, f := range c.Records(t) {
			if f[0] != "sent" {
				continue
			}
			attempt, err := strconv.Atoi(f[3])
			require.NoError(t, err)
			ns, err := strconv.ParseInt(f[4], 10, 64)
			require.NoError(t, err)
			out = append(out, Send{Proc: c.name, ID: f[1], User: f[2], Attempt: attempt, At: time.Unix(0, ns)})
		}
	}
	return out
}

// HeldAtDeath returns, from a killed child's file, the deliveries it
// had claimed and not recorded, with the end of its lease, and those of
// them it had sent.
func HeldAtDeath(t *testing.T, c *Process) (held map[string]time.Time, sent map[string]bool) {
	held, sent = map[string]time.Time{}, map[string]bool{}
	for _, f := range c.Records(t) {
		switch f[0] {
		case "claim":
			ns, err := strconv.ParseInt(f[2], 10, 64)
			require.NoError(t, err)
			held[f[1]] = time.Unix(0, ns)
		case "sent":
			sent[f[1]] = true
		case "done":
			delete(held, f[1])
			delete(sent, f[1])
		}
	}
	for id := range sent {
		require.Contains(t, held, id, "a send follows a claim")
	}
	return held, sent
}

// SendCounts counts the sends of each delivery ID.
func SendCounts(sends []Send) map[string]int {
	out := make(map[string]int, len(sends))
	for _, s := range sends {
		out[s.ID]++
	}
	return out
}

// SendsOf returns the sends of delivery id.
func SendsOf(sends []Send, id string) []Send {
	var out []Send
	for _, s := range sends {
		if s.ID == id {
			out = append(out, s)
		}
	}
	return out
}

// FindSend returns the first send of delivery id by child proc, or nil.
func FindSend(sends []Send, proc, id string) *Send {
	for i := range sends {
		if sends[i].Proc == proc && sends[i].ID == id {
			return &sends[i]
		}
	}
	return nil
}
