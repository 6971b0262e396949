-- Multi-node fan-out (src/postgres/fanout.rs): every event a node publishes, read by the other
-- nodes by id after a NOTIFY on `rift_events`. Rows live a few minutes (pruned by every node), long
-- enough for a listener that lost its connection to read what it missed.
CREATE TABLE event_log (
    id BIGSERIAL PRIMARY KEY,
    -- The publishing node, which skips its own rows.
    node_id UUID NOT NULL,
    -- The envelope's JSON, {"topic", "event"}; TEXT, since JSONB rejects \u0000.
    payload TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Pruning by age.
CREATE INDEX event_log_created_at ON event_log (created_at);
