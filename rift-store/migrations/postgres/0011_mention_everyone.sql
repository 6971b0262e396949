-- Whether a message's @everyone/@here counts as a mention: decided when it is sent (the author
-- held MENTION_EVERYONE, or the remote network said so for a mirrored message), then kept.
ALTER TABLE messages ADD COLUMN mention_everyone BOOLEAN NOT NULL DEFAULT FALSE;
