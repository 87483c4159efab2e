-- The initial schema. Times are INTEGER nanoseconds since the Unix epoch
-- (see times.go); documents (campaign definitions, user state, the rest of
-- a pending delivery, logged events) are JSON text.

-- One row per namespace with campaigns or wake-ups: the campaign
-- revision, bumped by every campaign change, and the wake-up counter,
-- bumped by an update that schedules a delivery due before every other
-- one (other processes' stores watch it).
CREATE TABLE campaignconnector_namespaces (
	ns       TEXT    NOT NULL PRIMARY KEY,
	revision INTEGER NOT NULL DEFAULT 0,
	wake     INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

CREATE TABLE campaignconnector_campaigns (
	ns           TEXT    NOT NULL,
	id           TEXT    NOT NULL,
	definition   TEXT    NOT NULL, -- rule.Campaign
	state        TEXT    NOT NULL,
	activated_at INTEGER,          -- NULL: zero
	activation   INTEGER NOT NULL,
	created_at   INTEGER,
	updated_at   INTEGER,
	revision     INTEGER NOT NULL,
	PRIMARY KEY (ns, id)
) WITHOUT ROWID;

-- A user's state but the pending deliveries (receipts, sends, conversion
-- windows, decision log), present while it is not empty. expires_at (the
-- earliest expiry in it) and log_first (the time of its first decision)
-- let Prune find what to prune.
CREATE TABLE campaignconnector_users (
	ns         TEXT    NOT NULL,
	user_id    TEXT    NOT NULL,
	state      TEXT    NOT NULL,
	expires_at INTEGER,
	log_first  INTEGER,
	PRIMARY KEY (ns, user_id)
) WITHOUT ROWID;
CREATE INDEX campaignconnector_users_expires ON campaignconnector_users (ns, expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX campaignconnector_users_log ON campaignconnector_users (ns, log_first) WHERE log_first IS NOT NULL;

-- Event IDs remembered for deduplication.
CREATE TABLE campaignconnector_seen (
	ns         TEXT    NOT NULL,
	user_id    TEXT    NOT NULL,
	event_id   TEXT    NOT NULL,
	keep_until INTEGER NOT NULL,
	PRIMARY KEY (ns, user_id, event_id)
) WITHOUT ROWID;
CREATE INDEX campaignconnector_seen_keep_until ON campaignconnector_seen (ns, keep_until);

-- Pending deliveries: the due queue. seq keeps a user's scheduling order;
-- ready_at and token change with each claim; data holds the rest of
-- store.Pending. A rowid table: Claim picks rows by rowid.
CREATE TABLE campaignconnector_pending (
	ns          TEXT    NOT NULL,
	user_id     TEXT    NOT NULL,
	id          TEXT    NOT NULL,
	campaign_id TEXT    NOT NULL,
	seq         INTEGER NOT NULL,
	ready_at    INTEGER NOT NULL,
	token       INTEGER NOT NULL,
	data        TEXT    NOT NULL,
	UNIQUE (ns, user_id, id)
);
CREATE INDEX campaignconnector_pending_ready ON campaignconnector_pending (ns, ready_at);
CREATE INDEX campaignconnector_pending_campaign ON campaignconnector_pending (ns, campaign_id);

-- Rate-limit counters.
CREATE TABLE campaignconnector_counters (
	ns      TEXT    NOT NULL,
	key     TEXT    NOT NULL,
	n       INTEGER NOT NULL,
	expires INTEGER NOT NULL,
	PRIMARY KEY (ns, key)
) WITHOUT ROWID;

-- The interaction log, for backfills. seq gives ties their append order.
CREATE TABLE campaignconnector_interactions (
	seq         INTEGER PRIMARY KEY,
	ns          TEXT    NOT NULL,
	at          INTEGER NOT NULL,
	kind        TEXT    NOT NULL,
	campaign_id TEXT    NOT NULL,
	event       TEXT    NOT NULL,
	keep_until  INTEGER NOT NULL
);
CREATE INDEX campaignconnector_interactions_at ON campaignconnector_interactions (ns, at, seq);
CREATE INDEX campaignconnector_interactions_keep_until ON campaignconnector_interactions (ns, keep_until);
