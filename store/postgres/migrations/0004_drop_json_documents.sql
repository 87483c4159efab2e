-- The JSON documents, converted by version 3, go.
ALTER TABLE {pending} DROP COLUMN data, ALTER COLUMN body SET NOT NULL;
ALTER TABLE {users} DROP COLUMN state, ALTER COLUMN body SET NOT NULL;
