-- Rift schema, PostgreSQL dialect (15+). Table and column names match migrations/sqlite: the
-- queries are shared. Timestamps are timestamptz (microseconds, as SQLite stores them).

CREATE TABLE users (
    id               UUID PRIMARY KEY NOT NULL,
    username         TEXT NOT NULL,
    display_name     TEXT NOT NULL,
    email            TEXT,
    password_hash    TEXT,
    avatar_url       TEXT,
    status           TEXT NOT NULL DEFAULT 'online',
    bridge_source    TEXT,
    bridge_remote_id TEXT,
    created_at       TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX users_username_key ON users (lower(username));
CREATE UNIQUE INDEX users_email_key ON users (lower(email)) WHERE email IS NOT NULL;
CREATE UNIQUE INDEX users_bridge_key ON users (bridge_source, bridge_remote_id) WHERE bridge_source IS NOT NULL;

CREATE TABLE servers (
    id               UUID PRIMARY KEY NOT NULL,
    name             TEXT NOT NULL,
    icon_url         TEXT,
    owner_id         UUID NOT NULL REFERENCES users (id),
    bridge_source    TEXT,
    bridge_remote_id TEXT,
    created_at       TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX servers_bridge_key ON servers (bridge_source, bridge_remote_id) WHERE bridge_source IS NOT NULL;

CREATE TABLE members (
    server_id UUID NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    user_id   UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    nickname  TEXT,
    joined_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (server_id, user_id)
);
CREATE INDEX members_user_idx ON members (user_id);

CREATE TABLE roles (
    id               UUID PRIMARY KEY NOT NULL,
    server_id        UUID NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    name             TEXT NOT NULL,
    color            INTEGER NOT NULL DEFAULT 0,
    position         INTEGER NOT NULL,
    permissions      BIGINT NOT NULL,
    bridge_source    TEXT,
    bridge_remote_id TEXT,
    -- Positions are unique per server; moves go through negative values to keep this true per row.
    UNIQUE (server_id, position)
);
CREATE UNIQUE INDEX roles_bridge_key ON roles (bridge_source, bridge_remote_id) WHERE bridge_source IS NOT NULL;

CREATE TABLE member_roles (
    server_id UUID NOT NULL,
    user_id   UUID NOT NULL,
    role_id   UUID NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    PRIMARY KEY (server_id, user_id, role_id),
    FOREIGN KEY (server_id, user_id) REFERENCES members (server_id, user_id) ON DELETE CASCADE
);
CREATE INDEX member_roles_role_idx ON member_roles (role_id);

-- Server channels and DM channels (kind 'dm', no server), so messages have one FK target.
CREATE TABLE channels (
    id               UUID PRIMARY KEY NOT NULL,
    server_id        UUID REFERENCES servers (id) ON DELETE CASCADE,
    name             TEXT NOT NULL,
    kind             TEXT NOT NULL CHECK (kind IN ('text', 'voice', 'category', 'dm')),
    topic            TEXT,
    position         INTEGER NOT NULL DEFAULT 0,
    parent_id        UUID REFERENCES channels (id) ON DELETE SET NULL,
    bridge_source    TEXT,
    bridge_remote_id TEXT,
    created_at       TIMESTAMPTZ NOT NULL
);
CREATE INDEX channels_server_idx ON channels (server_id, position);
CREATE INDEX channels_parent_idx ON channels (parent_id);
CREATE UNIQUE INDEX channels_bridge_key ON channels (bridge_source, bridge_remote_id) WHERE bridge_source IS NOT NULL;

CREATE TABLE channel_permissions (
    channel_id UUID NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    target_id  UUID NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('role', 'member')),
    allow      BIGINT NOT NULL,
    deny       BIGINT NOT NULL,
    PRIMARY KEY (channel_id, target_id)
);
CREATE INDEX channel_permissions_target_idx ON channel_permissions (target_id);

CREATE TABLE messages (
    id               UUID PRIMARY KEY NOT NULL,
    channel_id       UUID NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    author_id        UUID NOT NULL REFERENCES users (id),
    content          TEXT NOT NULL,
    reply_to         UUID,
    nonce            TEXT,
    created_at       TIMESTAMPTZ NOT NULL,
    edited_at        TIMESTAMPTZ,
    deleted_at       TIMESTAMPTZ,
    bridge_source    TEXT,
    bridge_remote_id TEXT,
    -- Full-text search: 'simple' keeps every word (no stemming, no stop words), as FTS5 does.
    tsv              TSVECTOR GENERATED ALWAYS AS (to_tsvector('simple', content)) STORED
);
-- Only live messages are indexed; search always filters on deleted_at IS NULL.
CREATE INDEX messages_tsv_idx ON messages USING GIN (tsv) WHERE deleted_at IS NULL;
CREATE INDEX messages_channel_idx ON messages (channel_id, id);
CREATE INDEX messages_nonce_idx ON messages (channel_id, author_id, nonce) WHERE nonce IS NOT NULL;
CREATE INDEX messages_author_idx ON messages (author_id);
CREATE UNIQUE INDEX messages_bridge_key ON messages (bridge_source, bridge_remote_id) WHERE bridge_source IS NOT NULL;

-- Uploads; message_id stays NULL until a message attaches the file.
CREATE TABLE attachments (
    id               UUID PRIMARY KEY NOT NULL,
    uploader_id      UUID REFERENCES users (id),
    message_id       UUID REFERENCES messages (id) ON DELETE CASCADE,
    position         INTEGER NOT NULL DEFAULT 0,
    filename         TEXT NOT NULL,
    content_type     TEXT NOT NULL,
    size             BIGINT NOT NULL,
    url              TEXT NOT NULL,
    secret           TEXT NOT NULL,
    width            INTEGER,
    height           INTEGER,
    bridge_source    TEXT,
    bridge_remote_id TEXT,
    created_at       TIMESTAMPTZ NOT NULL
);
CREATE INDEX attachments_message_idx ON attachments (message_id, position);
CREATE UNIQUE INDEX attachments_bridge_key ON attachments (bridge_source, bridge_remote_id) WHERE bridge_source IS NOT NULL;

CREATE TABLE reactions (
    message_id UUID NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    user_id    UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    emoji      TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (message_id, emoji, user_id)
);

-- A DM channel between two users (user_low < user_high by id; equal for a note-to-self).
CREATE TABLE dm_channels (
    id        UUID PRIMARY KEY NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    user_low  UUID NOT NULL REFERENCES users (id),
    user_high UUID NOT NULL REFERENCES users (id),
    UNIQUE (user_low, user_high)
);

CREATE TABLE dm_participants (
    channel_id UUID NOT NULL REFERENCES dm_channels (id) ON DELETE CASCADE,
    user_id    UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (channel_id, user_id)
);
CREATE INDEX dm_participants_user_idx ON dm_participants (user_id);

-- One message table serves servers and DMs; this view names the DM part.
CREATE VIEW dm_messages AS
    SELECT m.id, m.channel_id, m.author_id, m.content, m.reply_to, m.nonce, m.created_at, m.edited_at,
           m.deleted_at, m.bridge_source, m.bridge_remote_id
    FROM messages m JOIN dm_channels d ON d.id = m.channel_id;

CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY NOT NULL,
    family_id  UUID NOT NULL,
    user_id    UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at    TIMESTAMPTZ,
    revoked    BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user_idx ON refresh_tokens (user_id);

CREATE TABLE invites (
    code       TEXT PRIMARY KEY NOT NULL,
    server_id  UUID NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    channel_id UUID REFERENCES channels (id) ON DELETE SET NULL,
    uses       BIGINT NOT NULL DEFAULT 0,
    max_uses   BIGINT NOT NULL DEFAULT 0,
    expires_at TIMESTAMPTZ,
    creator_id UUID NOT NULL REFERENCES users (id),
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX invites_server_idx ON invites (server_id, created_at);

CREATE TABLE bans (
    server_id  UUID NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    user_id    UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    reason     TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (server_id, user_id)
);

CREATE TABLE read_states (
    user_id              UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    channel_id           UUID NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    last_read_message_id UUID NOT NULL,
    PRIMARY KEY (user_id, channel_id)
);

-- A message's edit/delete trail.
CREATE TABLE message_audit_log (
    id          UUID PRIMARY KEY NOT NULL,
    message_id  UUID NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    action      TEXT NOT NULL CHECK (action IN ('edit', 'delete')),
    old_content TEXT,
    new_content TEXT,
    actor_id    UUID,
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX message_audit_log_message_idx ON message_audit_log (message_id, created_at);

CREATE TABLE server_audit_log (
    id         UUID PRIMARY KEY NOT NULL,
    server_id  UUID NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    actor_id   UUID,
    action     TEXT NOT NULL,
    target_id  UUID,
    changes    JSONB NOT NULL,
    reason     TEXT,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX server_audit_log_server_idx ON server_audit_log (server_id, id);

CREATE TABLE bridge_connections (
    id             UUID PRIMARY KEY NOT NULL,
    source         TEXT NOT NULL,
    owner_id       UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token          TEXT NOT NULL,
    token_kind     TEXT NOT NULL,
    mode           TEXT NOT NULL,
    status         TEXT NOT NULL,
    status_reason  TEXT,
    remote_user_id TEXT,
    created_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX bridge_connections_owner_idx ON bridge_connections (owner_id);

CREATE TABLE bridge_cursors (
    connection_id UUID NOT NULL REFERENCES bridge_connections (id) ON DELETE CASCADE,
    key           TEXT NOT NULL,
    value         TEXT NOT NULL,
    PRIMARY KEY (connection_id, key)
);

