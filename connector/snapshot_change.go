package connector

import (
	"slices"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/store"
)

// with returns the snapshot at rec.Revision when rec is the only change
// since s: s with rec in place of its campaign's earlier record. It
// rebuilds only what involves that campaign — its entry, the follow-up
// lists of the campaigns its triggers name, and the entries of the index
// keys its old and new records listen on or that name it as the
// campaign of the event (whose triggers resolve it as their origin) — and
// shares the rest with s, which stays as it is for its readers. The result
// reads as the snapshot newSnapshot builds from the store's records at
// rec.Revision.
func (s *snapshot) with(ns string, rec store.CampaignRecord) *snapshot {
	id := rec.Campaign.ID
	old := s.campaign(id)
	c := newCampaign(ns, rec)
	n := &snapshot{rev: rec.Revision, loc: s.loc, acceptStopped: s.acceptStopped, oneZone: s.oneZone, maxTriggerAge: s.maxTriggerAge, campaigns: s.campaigns.with(id, c), followUps: s.followUps}
	var before []string
	if old != nil {
		before = old.origins()
	}
	after := c.origins()
	for _, o := range before {
		if !slices.Contains(after, o) {
			n.followUps = editList(n.followUps, o, func(l idList) idList { return l.without(id) })
		}
	}
	for _, o := range after {
		if !slices.Contains(before, o) {
			n.followUps = editList(n.followUps, o, func(l idList) idList { return l.with(id) })
		}
	}

	// Every key whose entry changes gets a new one, its listeners built
	// afresh: the keys c listens on now (c joins or stays), those its old
	// record listened on (c leaves unless it stays), and those where other
	// follow-ups trigger on events with c (their triggers' origin is c).
	mine := c.keys()
	changes := map[[2]string]*keyEntry{}
	affect := func(key [2]string) {
		if _, done := changes[key]; done {
			return
		}
		var members idList
		if e := s.index.get(event.Kind(key[0]), key[1]); e != nil {
			members = e.members
		}
		if slices.Contains(mine, key) {
			members = members.with(id)
		} else {
			members = members.without(id)
		}
		changes[key] = nil
		if members.len() > 0 {
			changes[key] = &keyEntry{members: members}
		}
	}
	for _, key := range mine {
		affect(key)
	}
	if old != nil {
		for _, key := range old.keys() {
			affect(key)
		}
	}
	followUps, _ := s.followUps.get(id)
	for fid := range followUps.all() {
		for _, t := range s.campaign(fid).Campaign.Triggers {
			if key := [2]string{string(t.Kind), id}; t.CampaignID == id && s.index.get(t.Kind, id) != nil {
				affect(key)
			}
		}
	}
	n.index = s.index.with(changes)
	return n
}

// editList returns t with the list of key replaced by edit's result,
// dropped when it is empty.
func editList(t idTable[idList], key string, edit func(idList) idList) idTable[idList] {
	l, _ := t.get(key)
	if l = edit(l); l.len() == 0 {
		return t.without(key)
	}
	return t.with(key, l)
}
