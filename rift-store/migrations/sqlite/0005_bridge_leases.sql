-- Only one process runs a bridge connection: the one holding its lease. A lease is taken when
-- free, expired or already held by the taker (a renewal), in one conditional upsert.
CREATE TABLE bridge_leases (
    connection_id BLOB PRIMARY KEY NOT NULL REFERENCES bridge_connections (id) ON DELETE CASCADE,
    holder        BLOB NOT NULL,
    expires_at    INTEGER NOT NULL
);
