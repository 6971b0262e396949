-- Only one process runs a bridge connection: the one holding its lease. A lease is taken when
-- free, expired or already held by the taker (a renewal), in one conditional upsert.
CREATE TABLE bridge_leases (
    connection_id UUID PRIMARY KEY NOT NULL REFERENCES bridge_connections (id) ON DELETE CASCADE,
    holder        UUID NOT NULL,
    expires_at    TIMESTAMPTZ NOT NULL
);
