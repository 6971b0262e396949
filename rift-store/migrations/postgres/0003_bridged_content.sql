-- Mirrored files are stored once per distinct content: the SHA-256 of a file's bytes, so a second
-- attachment with the same bytes shares the first one's file.
ALTER TABLE attachments ADD COLUMN content_hash TEXT;
CREATE INDEX attachments_hash_idx ON attachments (content_hash) WHERE content_hash IS NOT NULL;

-- What a mirrored message carries beside its text (Discord embeds and stickers, as JSON), never
-- folded into the content.
ALTER TABLE messages ADD COLUMN extras TEXT;
