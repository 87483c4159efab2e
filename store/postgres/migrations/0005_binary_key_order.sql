-- Identifiers compare byte by byte (the "C" collation) rather than by the
-- database's locale: the store never needs their linguistic order, and
-- every index look-up compares keys, which strcoll makes several times
-- slower. The indexes on these columns are rebuilt.
ALTER TABLE {pending}
	ALTER COLUMN ns TYPE text COLLATE "C",
	ALTER COLUMN user_id TYPE text COLLATE "C",
	ALTER COLUMN id TYPE text COLLATE "C",
	ALTER COLUMN campaign_id TYPE text COLLATE "C";
ALTER TABLE {users}
	ALTER COLUMN ns TYPE text COLLATE "C",
	ALTER COLUMN user_id TYPE text COLLATE "C";
ALTER TABLE {seen}
	ALTER COLUMN ns TYPE text COLLATE "C",
	ALTER COLUMN user_id TYPE text COLLATE "C",
	ALTER COLUMN event_id TYPE text COLLATE "C";
ALTER TABLE {counters}
	ALTER COLUMN ns TYPE text COLLATE "C",
	ALTER COLUMN key TYPE text COLLATE "C";
ALTER TABLE {campaigns}
	ALTER COLUMN ns TYPE text COLLATE "C",
	ALTER COLUMN id TYPE text COLLATE "C";
ALTER TABLE {namespaces}
	ALTER COLUMN ns TYPE text COLLATE "C";
ALTER TABLE {interactions}
	ALTER COLUMN ns TYPE text COLLATE "C",
	ALTER COLUMN kind TYPE text COLLATE "C",
	ALTER COLUMN campaign_id TYPE text COLLATE "C";
