-- The tallies of one campaign over a range of hours, which a dashboard's
-- campaign page reads at every refresh: one short range of this index,
-- in the order Tallies returns them, where the primary key (hour first)
-- holds every campaign's tallies of the range. Its entries hold the rest
-- of the primary key, so a count is read from the table by key. Built in
-- the migration's transaction, which holds the file's write lock while it
-- reads the table: other processes' writes wait meanwhile (docs/stores.md).
CREATE INDEX campaignconnector_tallies_campaign ON campaignconnector_tallies (ns, campaign_id, hour);
