-- A backfill asked for by any process (the API on any node, the `rift` command) and run by the
-- process holding the connection's lease, which polls for open requests. `channel_ids` is a JSON
-- array of Rift channel ids, NULL for every channel. `taken_by` is the lease holder running it: a
-- request left `running` by a holder that no longer holds the lease is taken again.
CREATE TABLE bridge_backfill_requests (
    id            UUID PRIMARY KEY NOT NULL,
    connection_id UUID NOT NULL REFERENCES bridge_connections (id) ON DELETE CASCADE,
    channel_ids   TEXT,
    state         TEXT NOT NULL CHECK (state IN ('pending', 'running', 'done', 'failed')),
    error         TEXT,
    taken_by      UUID,
    requested_at  TIMESTAMPTZ NOT NULL,
    started_at    TIMESTAMPTZ,
    finished_at   TIMESTAMPTZ
);
CREATE INDEX bridge_backfill_requests_open ON bridge_backfill_requests (connection_id)
    WHERE state IN ('pending', 'running');
CREATE INDEX bridge_backfill_requests_latest ON bridge_backfill_requests (connection_id, requested_at);
