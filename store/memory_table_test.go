package store

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestUserTableAgainstMap runs random puts, removes and look-ups on a
// userTable and on a map: they must agree, through rebuilds and with many
// tombstones (the working set churns).
func TestUserTableAgainstMap(t *testing.T) {
	for seed := range uint64(20) {
		r := rand.New(rand.NewPCG(seed, 1))
		var tab userTable
		ref := map[string]*memUser{}
		ids := make([]string, 500)
		for i := range ids {
			ids[i] = fmt.Sprint("user-", i)
		}
		for step := range 20000 {
			id := ids[r.IntN(len(ids))]
			switch r.IntN(3) {
			case 0:
				if ref[id] == nil {
					u := newMemUser(id, hashID(id))
					tab.put(u, hashID(id))
					ref[id] = u
				}
			case 1:
				tab.remove(id, hashID(id))
				delete(ref, id)
			}
			if got, want := tab.get(id, hashID(id)), ref[id]; got != want {
				t.Fatalf("seed %d step %d: get(%q) = %p, want %p", seed, step, id, got, want)
			}
			if tab.n != len(ref) {
				t.Fatalf("seed %d step %d: %d users, want %d", seed, step, tab.n, len(ref))
			}
			if (tab.n+tab.dead)*8 > len(tab.slots)*5 {
				t.Fatalf("seed %d step %d: %d users and %d tombstones in %d slots", seed, step, tab.n, tab.dead, len(tab.slots))
			}
		}
		for _, id := range ids {
			if got, want := tab.get(id, hashID(id)), ref[id]; got != want {
				t.Fatalf("seed %d: get(%q) = %p, want %p", seed, id, got, want)
			}
		}
		seen := 0
		tab.each(func(u *memUser) {
			if ref[u.id()] != u {
				t.Fatalf("seed %d: each visits %q, not in the map", seed, u.id())
			}
			seen++
		})
		if seen != len(ref) {
			t.Fatalf("seed %d: each visits %d users, want %d", seed, seen, len(ref))
		}
		dead := 0
		for _, tag := range tab.tags {
			if tag == tombstone {
				dead++
			}
		}
		if dead != tab.dead {
			t.Fatalf("seed %d: %d tombstones, counted %d", seed, dead, tab.dead)
		}
	}
}

// TestShardsBalanced checks that IDs differing only in a counter — the
// usual shape of user IDs — spread evenly over the shards, and that the
// same ID always lands on the same shard (from run to run: the hash has a
// fixed seed).
func TestShardsBalanced(t *testing.T) {
	m := NewMemory()
	sp := m.space("")
	for _, prefix := range []string{"user-", "", "550e8400-e29b-41d4-a716-", "customer_000000"} {
		var counts [shardCount]int
		const n = 64_000
		for i := range n {
			counts[shardIndex(sp, m.shard(sp, fmt.Sprint(prefix, i)))]++
		}
		lo, hi := slices.Min(counts[:]), slices.Max(counts[:])
		if mean := n / shardCount; lo < mean*8/10 || hi > mean*12/10 {
			t.Errorf("prefix %q: shards hold %d to %d IDs, mean %d", prefix, lo, hi, mean)
		}
	}
	if got, want := shardIndex(sp, m.shard(sp, "user-42")), 57; got != want {
		t.Errorf("user-42 is in shard %d, want %d: the shard hash changed (simulations would replay in another order)", got, want)
	}
}

func shardIndex(sp *space, sh *shard) int {
	for i := range sp.shards {
		if &sp.shards[i] == sh {
			return i
		}
	}
	return -1
}
