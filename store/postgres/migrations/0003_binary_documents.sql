-- Documents in the store's binary encoding instead of JSON: the body of a
-- pending delivery (what its columns do not hold) and the state of a user
-- but its pending deliveries. The store fills the new columns from the
-- JSON ones in the same transaction, and dates the pending rows without
-- due_at (an earlier replica's, written during the upgrade to version 2)
-- from their documents; version 4 drops the JSON columns.
ALTER TABLE {pending} ADD COLUMN body bytea;
ALTER TABLE {users} ADD COLUMN body bytea;
