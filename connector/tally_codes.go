package connector

import (
	"sync"
	"sync/atomic"

	"github.com/campaignconnector/campaignconnector/rule"
)

// tallyCode numbers a (kind, reason) pair of decisions, so that a tally
// counter is an array index. The pairs are registered as they first come
// (the sets of kinds and reasons are closed, so there are a few dozen at
// most); the codes of the pairs decision points name in the code are
// package variables.
type tallyCode uint16

// tallyPair is what a code stands for. whenDue marks a suppression of a
// scheduled delivery when it came due (counted with
// [store.RuleWhenDue]), apart from a trigger's suppression on arrival
// of the same reason.
type tallyPair struct {
	kind    rule.DecisionKind
	reason  rule.Reason
	whenDue bool
}

// tallyCodes holds the registered pairs: both tables are replaced, never
// changed, so that looking a code up takes no lock.
var tallyCodes struct {
	mu     sync.Mutex
	byPair atomic.Pointer[map[tallyPair]tallyCode]
	pairs  atomic.Pointer[[]tallyPair]
}

// The codes of the pairs decision points name in the code, set by init
// (Scheduled first: no other pair has code 0).
var (
	tcScheduled          tallyCode
	tcScheduledLate      tallyCode
	tcDelivered          tallyCode
	tcCancelledException tallyCode // counted per exception
	tcCancelledStopped   tallyCode
	tcReplaced           tallyCode
	tcDuplicate          tallyCode
	tcConverted          tallyCode
	tcConvertedControl   tallyCode                      // a control group user's conversion
	tcIgnored            [len(ignoredReasons)]tallyCode // indexed like ignoredReasons
)

func init() {
	tcScheduled = codeOf(rule.Scheduled, "")
	tcScheduledLate = codeOf(rule.Scheduled, rule.ReasonLate)
	tcDelivered = codeOf(rule.Delivered, "")
	tcCancelledException = codeOf(rule.Cancelled, rule.ReasonException)
	tcCancelledStopped = codeOf(rule.Cancelled, rule.ReasonCampaignStopped)
	tcReplaced = codeOf(rule.Cancelled, rule.ReasonReplaced)
	tcDuplicate = codeOf(rule.Duplicate, rule.ReasonDuplicateEvent)
	tcConverted = codeOf(rule.Converted, "")
	tcConvertedControl = codeOf(rule.Converted, rule.ReasonControlGroup)
	for i, r := range ignoredReasons {
		tcIgnored[i] = codeOf(rule.Ignored, r)
	}
}

// codeOf returns the code of (kind, reason), registering the pair on its
// first use.
func codeOf(kind rule.DecisionKind, reason rule.Reason) tallyCode {
	if tcDelivered != 0 && kind == rule.Delivered && reason == "" {
		return tcDelivered // the one Tick asks for most, without a map look-up
	}
	return codeOfPair(tallyPair{kind: kind, reason: reason})
}

// codeWhenDue returns the code of a delivery's suppression for reason
// when it came due.
func codeWhenDue(reason rule.Reason) tallyCode {
	return codeOfPair(tallyPair{kind: rule.Suppressed, reason: reason, whenDue: true})
}

// codeOfPair returns the code of p, registering it on its first use.
func codeOfPair(p tallyPair) tallyCode {
	if m := tallyCodes.byPair.Load(); m != nil {
		if c, ok := (*m)[p]; ok {
			return c
		}
	}
	tallyCodes.mu.Lock()
	defer tallyCodes.mu.Unlock()
	var old map[tallyPair]tallyCode
	var pairs []tallyPair
	if m := tallyCodes.byPair.Load(); m != nil {
		old, pairs = *m, *tallyCodes.pairs.Load()
	}
	if c, ok := old[p]; ok {
		return c
	}
	c := tallyCode(len(pairs))
	next := make(map[tallyPair]tallyCode, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	next[p] = c
	pairs = append(pairs[:len(pairs):len(pairs)], p)
	tallyCodes.pairs.Store(&pairs)
	tallyCodes.byPair.Store(&next)
	return c
}

// pairOf returns what code c stands for.
func pairOf(c tallyCode) tallyPair { return (*tallyCodes.pairs.Load())[c] }
