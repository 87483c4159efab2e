package connector

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/campaignconnector/campaignconnector/rule"
)

// applyPlan is what Apply does with a valid set.
type applyPlan struct {
	// order lists the set's indexes, each campaign after the campaigns of
	// the set it triggers on: Apply saves in this order and publishes in
	// the reverse one.
	order []int
	// saved and active mark the set's campaigns that the snapshot holds
	// with the same definition, and active: Apply skips their steps
	// without a store call (a restart with an unchanged set costs no
	// write). Other campaigns go through the steps, each of which leaves
	// the store as it is if another engine got there first.
	saved, active []bool
	// others are the active campaigns absent from the set, which
	// StopOthers stops and Apply otherwise leaves running.
	others []string
	// stoppedOthers are the stopped campaigns absent from the set, whose
	// cancellation StopOthers finishes (a stop cut short leaves their
	// deliveries pending).
	stoppedOthers []string
	// archived are the archived campaigns of the set, which KeepStopped
	// leaves archived (without it the set is refused).
	archived []string
}

// planApply checks the set against the snapshot and orders it; the error
// joins a *CampaignError for every problem found.
func (e *Engine) planApply(s *snapshot, set []rule.Campaign, cfg applyConfig) (*applyPlan, error) {
	var errs []error
	fail := func(id string, err error) {
		for _, leaf := range leaves(err) {
			errs = append(errs, &CampaignError{CampaignID: id, Err: leaf})
		}
	}
	byID := make(map[string]int, len(set))
	for i := range set {
		c := &set[i]
		if _, dup := byID[c.ID]; dup {
			fail(c.ID, &rule.ValidationError{Object: "campaign", Field: "id", Reason: "the set holds it more than once"})
			continue
		}
		byID[c.ID] = i
	}
	inSet := func(id string) bool { _, ok := byID[id]; return ok }
	// setAndSnapshot yields the IDs a reference may name, for the
	// suggestion of a misspelt one.
	setAndSnapshot := suggestible(func(yield func(string) bool) {
		for id := range byID {
			if !yield(id) {
				return
			}
		}
		for id := range s.campaignIDs() {
			if !inSet(id) && !yield(id) {
				return
			}
		}
	})
	for i := range set {
		c := &set[i]
		if byID[c.ID] != i {
			continue // a duplicate, reported above
		}
		fail(c.ID, e.checkDefinition(c))
		fail(c.ID, checkReferences(c, func(id string) bool { return inSet(id) || s.knows(id) }, setAndSnapshot))
		if r := s.campaign(c.ID); r != nil && r.State == rule.Archived && !cfg.keepStopped {
			fail(c.ID, &rule.ValidationError{Object: "campaign", Field: "id",
				Reason: "the campaign is archived: it cannot be published again; remove it from the set, or pass connector.KeepStopped() to leave it archived", Err: ErrInvalidTransition})
		}
		if cfg.stopOthers {
			for k, t := range c.Triggers {
				if r := s.campaign(t.CampaignID); r != nil && !inSet(t.CampaignID) && r.State == rule.Active {
					fail(c.ID, &rule.ValidationError{Object: "campaign", Field: fmt.Sprintf("triggers[%d].campaign_id", k),
						Reason: fmt.Sprintf("campaign %q is not in the set: StopOthers would stop it", t.CampaignID)})
				}
			}
		}
	}
	for _, cycle := range triggerCycles(s, set, byID, cfg.keepStopped) {
		reason := "campaigns " + cycleNames(cycle) + " trigger on each other"
		for _, id := range cycle {
			i, ok := byID[id]
			if !ok {
				continue // a stored campaign: the set's members on the cycle are reported
			}
			k := slices.IndexFunc(set[i].Triggers, func(t rule.Trigger) bool { return slices.Contains(cycle, t.CampaignID) })
			fail(id, &rule.ValidationError{Object: "campaign", Field: fmt.Sprintf("triggers[%d].campaign_id", k),
				Reason: reason, Err: ErrCycle})
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}

	p := &applyPlan{order: make([]int, 0, len(set)), saved: make([]bool, len(set)), active: make([]bool, len(set))}
	for i := range set {
		if r := s.campaign(set[i].ID); r != nil && byID[set[i].ID] == i {
			p.saved[i] = sameDefinition(&r.Campaign, &set[i])
			p.active[i] = r.State == rule.Active
			if r.State == rule.Archived { // KeepStopped: left as it is
				p.saved[i], p.active[i] = true, true
				p.archived = append(p.archived, r.Campaign.ID)
			}
		}
	}
	visited := make([]bool, len(set))
	var visit func(i int)
	visit = func(i int) { // the set has no cycle: the recursion ends
		visited[i] = true
		for _, t := range set[i].Triggers {
			if j, ok := byID[t.CampaignID]; ok && !visited[j] {
				visit(j)
			}
		}
		p.order = append(p.order, i)
	}
	ids := make([]string, 0, len(set))
	for id := range byID {
		ids = append(ids, id)
	}
	slices.Sort(ids) // the same order in every replica, whatever the set's
	for _, id := range ids {
		if i := byID[id]; !visited[i] {
			visit(i)
		}
	}
	for _, id := range s.ids() {
		if inSet(id) {
			continue
		}
		switch s.campaign(id).State {
		case rule.Active:
			p.others = append(p.others, id)
		case rule.Stopped:
			p.stoppedOthers = append(p.stoppedOthers, id)
		}
	}
	return p, nil
}

// cycleNamesShown is how many campaigns of a cycle Apply's error names:
// each member of the cycle gets an error of its own, so naming them all
// in each would make the error grow with the square of the cycle.
const cycleNamesShown = 10

// cycleNames lists the sorted IDs of a cycle for Apply's error: all of
// them, or the first cycleNamesShown and how many more there are.
func cycleNames(cycle []string) string {
	if len(cycle) <= cycleNamesShown {
		return strings.Join(cycle, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(cycle[:cycleNamesShown], ", "), len(cycle)-cycleNamesShown)
}

// leaves returns the errors err joins (recursively), or err alone; none
// for nil.
func leaves(err error) []error {
	if err == nil {
		return nil
	}
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range joined.Unwrap() {
			out = append(out, leaves(e)...)
		}
		return out
	}
	return []error{err}
}

// triggerCycles returns the cycles of follow-ups triggering on each other
// that involve the set: each as the sorted IDs of a strongly connected
// component of the graph whose edges go from a campaign to those its
// triggers name, over the set's definitions and the stored campaigns not
// in it (archived ones left out: they trigger nothing; with keepArchived,
// the set's campaigns stored as archived, which Apply leaves so, too).
func triggerCycles(s *snapshot, set []rule.Campaign, byID map[string]int, keepArchived bool) [][]string {
	triggers := func(id string) []rule.Trigger {
		if i, ok := byID[id]; ok {
			if c := s.campaign(id); keepArchived && c != nil && c.State == rule.Archived {
				return nil // left archived: it triggers nothing
			}
			return set[i].Triggers
		}
		if c := s.campaign(id); c != nil && c.State != rule.Archived {
			return c.Campaign.Triggers
		}
		return nil
	}
	// Tarjan's algorithm, from the set's campaigns in ID order.
	var (
		index   = map[string]int{}
		low     = map[string]int{}
		onStack = map[string]bool{}
		stack   []string
		out     [][]string
	)
	var connect func(id string)
	connect = func(id string) {
		index[id], low[id] = len(index), len(index)
		stack = append(stack, id)
		onStack[id] = true
		for _, t := range triggers(id) {
			o := t.CampaignID
			if o == "" || !inSetOrStored(s, byID, o) {
				continue
			}
			if _, seen := index[o]; !seen {
				connect(o)
				low[id] = min(low[id], low[o])
			} else if onStack[o] {
				low[id] = min(low[id], index[o])
			}
		}
		if low[id] != index[id] {
			return
		}
		var scc []string
		for {
			top := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			onStack[top] = false
			scc = append(scc, top)
			if top == id {
				break
			}
		}
		if len(scc) > 1 {
			slices.Sort(scc)
			out = append(out, scc)
		}
	}
	ids := make([]string, 0, len(byID))
	for id := range byID {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		if _, seen := index[id]; !seen {
			connect(id)
		}
	}
	return out
}

// inSetOrStored reports whether id is a campaign of the set or a stored
// campaign that is not archived: a node of the trigger graph.
func inSetOrStored(s *snapshot, byID map[string]int, id string) bool {
	if _, ok := byID[id]; ok {
		return true
	}
	c := s.campaign(id)
	return c != nil && c.State != rule.Archived
}

// sameDefinition reports whether a and b define the same campaign: equal,
// or equal once each has been through the JSON form a store keeps (a
// store may give back a number as json.Number, a message compacted, a
// time in another zone's notation).
func sameDefinition(a, b *rule.Campaign) bool {
	if reflect.DeepEqual(a, b) {
		return true
	}
	ja, err := canonicalJSON(a)
	if err != nil {
		return false
	}
	jb, err := canonicalJSON(b)
	return err == nil && bytes.Equal(ja, jb)
}

// canonicalJSON returns c's JSON form after one round trip through it.
func canonicalJSON(c *rule.Campaign) ([]byte, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	var back rule.Campaign
	if err := json.Unmarshal(b, &back); err != nil {
		return nil, err
	}
	return json.Marshal(&back)
}
