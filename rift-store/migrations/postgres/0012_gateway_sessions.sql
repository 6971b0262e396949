-- Gateway sessions saved by a graceful shutdown, so their clients can resume after the restart.
-- `owner` names the installation that saved them (read back, and deleted, at its next start);
-- `state` is the gateway's own encoding (sequence, replay buffer, what the session sees). TEXT,
-- not JSONB: frames may hold `\u0000`.
CREATE TABLE gateway_sessions (
    id       UUID PRIMARY KEY NOT NULL,
    owner    TEXT NOT NULL,
    user_id  UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    state    TEXT NOT NULL,
    saved_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX gateway_sessions_owner_idx ON gateway_sessions (owner);
