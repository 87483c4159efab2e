-- The initial schema. {name} stands for the store's qualified table name
-- ("schema".prefixname), {prefix} for its table prefix.
--
-- Documents are json, not jsonb: the store never queries inside them, json
-- is cheaper to write and read back, and it keeps a campaign's message
-- byte for byte (jsonb would reorder its keys).

-- One row per namespace with campaigns: the revision, bumped by every
-- campaign change, whose row lock serializes those changes.
CREATE TABLE {namespaces} (
	ns       text   PRIMARY KEY,
	revision bigint NOT NULL
);

CREATE TABLE {campaigns} (
	ns           text   NOT NULL,
	id           text   NOT NULL,
	definition   json   NOT NULL, -- rule.Campaign
	state        text   NOT NULL,
	activated_at timestamptz,     -- NULL: zero
	activation   bigint NOT NULL,
	created_at   timestamptz,
	updated_at   timestamptz,
	revision     bigint NOT NULL,
	PRIMARY KEY (ns, id)
);

-- A user's state but the pending deliveries (receipts, sends, conversion
-- windows, decision log), present while it is not empty. expires_at (the
-- earliest expiry in it) and log_first (the time of its first decision)
-- let Prune find what to prune.
CREATE TABLE {users} (
	ns         text NOT NULL,
	user_id    text NOT NULL,
	state      json NOT NULL,
	expires_at timestamptz,
	log_first  timestamptz,
	updated_at timestamptz NOT NULL,
	PRIMARY KEY (ns, user_id)
);
CREATE INDEX {prefix}users_expires ON {users} (ns, expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX {prefix}users_log ON {users} (ns, log_first) WHERE log_first IS NOT NULL;

-- Event IDs remembered for deduplication.
CREATE TABLE {seen} (
	ns         text        NOT NULL,
	user_id    text        NOT NULL,
	event_id   text        NOT NULL,
	keep_until timestamptz NOT NULL,
	PRIMARY KEY (ns, user_id, event_id)
);
CREATE INDEX {prefix}seen_keep_until ON {seen} (ns, keep_until);

-- Pending deliveries: the due queue. seq keeps a user's scheduling order;
-- ready_at and token change with each claim; data holds the rest of
-- store.Pending.
CREATE TABLE {pending} (
	ns          text        NOT NULL,
	user_id     text        NOT NULL,
	id          text        NOT NULL,
	campaign_id text        NOT NULL,
	seq         integer     NOT NULL,
	ready_at    timestamptz NOT NULL,
	token       bigint      NOT NULL,
	data        json        NOT NULL,
	PRIMARY KEY (ns, user_id, id)
);
CREATE INDEX {prefix}pending_ready ON {pending} (ns, ready_at);
CREATE INDEX {prefix}pending_campaign ON {pending} (ns, campaign_id);

-- Rate-limit counters. Few per namespace: no index on expires, so that
-- Take's updates stay HOT.
CREATE TABLE {counters} (
	ns      text        NOT NULL,
	key     text        NOT NULL,
	n       bigint      NOT NULL,
	expires timestamptz NOT NULL,
	PRIMARY KEY (ns, key)
);

-- The interaction log, for backfills. at is the event time rounded down
-- to the microsecond (the event keeps the exact one); seq gives ties
-- their append order.
CREATE TABLE {interactions} (
	seq         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	ns          text        NOT NULL,
	at          timestamptz NOT NULL,
	kind        text        NOT NULL,
	campaign_id text        NOT NULL,
	event       json        NOT NULL,
	keep_until  timestamptz NOT NULL
);
CREATE INDEX {prefix}interactions_at ON {interactions} (ns, at, seq);
CREATE INDEX {prefix}interactions_keep_until ON {interactions} (ns, keep_until);
