-- The tallies of some campaigns over a range of hours, which a dashboard
-- reads for the follow-ups it shows: one short range of this index per
-- campaign, where the primary key (hour first) holds every campaign's
-- tallies of the range. Built in the migration's transaction, which
-- holds off the engines' writes of tallies (not their reads) while it
-- reads the table: about a second per million tallies.
CREATE INDEX {prefix}tallies_campaign ON {tallies} (ns, campaign_id, hour);
