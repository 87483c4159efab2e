-- The last batch of decision tallies each writer (an engine, for as long
-- as it runs) added: a batch sent again after an error whose reply was
-- lost, although its transaction committed, is then added only once.
-- hour is the latest hour of the writer's tallies: Prune removes the row
-- with the tallies of that hour. A table of its own, which replicas of an
-- earlier version never read, so that they go on working during a rolling
-- upgrade.
CREATE TABLE {tally_writers} (
	ns     text        COLLATE "C" NOT NULL,
	writer text        COLLATE "C" NOT NULL,
	seq    bigint      NOT NULL,
	hour   timestamptz NOT NULL,
	PRIMARY KEY (ns, writer)
);
CREATE INDEX {prefix}tally_writers_hour ON {tally_writers} (ns, hour);
