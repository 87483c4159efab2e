-- Decision tallies and pending deliveries in due order, for dashboards.

-- How many decisions the engines of a namespace took, per hour (its
-- start, in Unix seconds: every hour a time.Time can start is kept
-- exactly), follow-up ("" for decisions about none), kind, reason and
-- rule (for a cancellation by an exception, the exception; "" otherwise).
-- Engines add their counts every few seconds; their prune removes the
-- hours past the tally retention. The primary key is the order Tallies
-- returns them in (BINARY collation: byte-wise).
CREATE TABLE campaignconnector_tallies (
	ns          TEXT    NOT NULL,
	hour        INTEGER NOT NULL,
	campaign_id TEXT    NOT NULL,
	kind        TEXT    NOT NULL,
	reason      TEXT    NOT NULL,
	rule        TEXT    NOT NULL,
	n           INTEGER NOT NULL,
	PRIMARY KEY (ns, hour, campaign_id, kind, reason, rule)
) WITHOUT ROWID;

-- due_at is the delivery's DueAt in nanoseconds (data keeps it too),
-- written with the row; DueAt never changes while the delivery waits.
-- The store fills it for the rows written before this migration, from
-- their data, in the same transaction (migrate.go). Rows a process of an
-- earlier version writes during a rolling upgrade have none (the undated
-- index finds them) until a process of this version updates them.
ALTER TABLE campaignconnector_pending ADD COLUMN due_at INTEGER;

-- The listing of a follow-up's deliveries in (DueAt, ID) order reads this
-- index in order; the listing of all of them merges the follow-ups'. It
-- takes the place of the index on (ns, campaign_id), which served
-- cancellations by campaign: this one serves them as well.
CREATE INDEX campaignconnector_pending_due ON campaignconnector_pending (ns, campaign_id, due_at, id);
DROP INDEX campaignconnector_pending_campaign;
CREATE INDEX campaignconnector_pending_undated ON campaignconnector_pending (ns) WHERE due_at IS NULL;
