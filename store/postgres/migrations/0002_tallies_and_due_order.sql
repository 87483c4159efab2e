-- Decision tallies and pending deliveries in due order, for dashboards.
-- {schema} stands for the store's quoted schema name.

-- How many decisions the engines of a namespace took, per hour (its
-- start), follow-up ("" for decisions about none), kind, reason and rule
-- (for a cancellation by an exception, the exception; "" otherwise).
-- Engines add their counts every few seconds; Prune removes the hours
-- past the engine's tally retention.
CREATE TABLE {tallies} (
	ns          text        NOT NULL,
	hour        timestamptz NOT NULL,
	campaign_id text        NOT NULL,
	kind        text        NOT NULL,
	reason      text        NOT NULL,
	rule        text        NOT NULL,
	n           bigint      NOT NULL,
	PRIMARY KEY (ns, hour, campaign_id, kind, reason, rule)
);

-- due_at is the delivery's DueAt rounded down to the microsecond (data
-- keeps the exact time), written with the row. It never changes while the
-- delivery waits, so updates of the row stay HOT when the rest allows.
-- Rows written before this migration take it from their document; rows a
-- replica of an earlier version writes during a rolling upgrade have none
-- (the undated index finds them) until a replica of this version updates
-- them.
ALTER TABLE {pending} ADD COLUMN due_at timestamptz;
UPDATE {pending} SET due_at = regexp_replace(data->>'due_at', '(\.[0-9]{6})[0-9]+', '\1')::timestamptz;

-- The listing of a follow-up's deliveries in (DueAt, ID) order reads this
-- index in order; the listing of all of them merges the follow-ups'. It
-- takes the place of the index on (ns, campaign_id), which served
-- cancellations by campaign: this one serves them as well.
CREATE INDEX {prefix}pending_due ON {pending} (ns, campaign_id, due_at, id COLLATE "C");
DROP INDEX {schema}.{prefix}pending_campaign;
CREATE INDEX {prefix}pending_undated ON {pending} (ns) WHERE due_at IS NULL;
