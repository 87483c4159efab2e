-- The JSON documents, converted by version 3, go. Every pending row has
-- its due_at (version 3 dated those an earlier replica left without), and
-- every writer from version 3 on writes it: the column is required, and
-- the index of the rows without it goes.
ALTER TABLE {pending} DROP COLUMN data, ALTER COLUMN body SET NOT NULL, ALTER COLUMN due_at SET NOT NULL;
ALTER TABLE {users} DROP COLUMN state, ALTER COLUMN body SET NOT NULL;
DROP INDEX {schema}.{prefix}pending_undated;
