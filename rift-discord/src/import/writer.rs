//! The Rift side of an import: guilds, channels, DMs, authors, messages, files and reactions,
//! written through the service's `mirror_*` operations under the bridge's keys.

use std::collections::HashMap;

use rift::import::{ImportReport, ProblemKind, Progress};
use rift::model::{BridgeRef, ChannelKind};
use rift::store::BridgedKind;
use rift::{
    ChannelId, ErrorKind, MessageId, RemoteChannel, RemoteMessage, RemoteUser, Rift, ServerId, Timestamp,
    UploadId, UserId,
};
use serde_json::Value;

use super::{MAX_FILE_BYTES, Source};
use crate::model::Snowflake;

/// The `bridge_source` of everything Discord, imported or bridged.
pub const SOURCE: &str = "discord";

/// Progress is reported after this many messages (and at the end of each file).
const REPORT_EVERY: u64 = 25;

/// A message as an export describes it.
#[derive(Debug, Clone)]
pub(crate) struct ImportedMessage {
    pub(crate) id: Snowflake,
    /// `None`: the importer wrote it (a data package holds only their messages).
    pub(crate) author: Option<ImportedUser>,
    pub(crate) content: String,
    pub(crate) created_at: Timestamp,
    pub(crate) edited_at: Option<Timestamp>,
    pub(crate) reply_to: Option<Snowflake>,
    pub(crate) attachments: Vec<ImportedAttachment>,
    /// Embeds and stickers, in the shape the bridge keeps them.
    pub(crate) extras: Option<Value>,
    pub(crate) reactions: Vec<ImportedReaction>,
}

/// A Discord user as an export names them.
#[derive(Debug, Clone)]
pub(crate) struct ImportedUser {
    pub(crate) id: Snowflake,
    pub(crate) name: String,
}

/// A file a message carried.
#[derive(Debug, Clone)]
pub(crate) struct ImportedAttachment {
    /// Discord's attachment id, when the export names it (the key files are stored under).
    pub(crate) id: Option<Snowflake>,
    pub(crate) filename: String,
    /// A CDN address, or a path relative to the export (a downloaded copy).
    pub(crate) url: String,
}

/// A reaction and who made it.
#[derive(Debug, Clone)]
pub(crate) struct ImportedReaction {
    /// As Rift and Discord's routes name it (see `mapper::emoji_key`).
    pub(crate) emoji: String,
    pub(crate) count: u64,
    pub(crate) users: Vec<ImportedUser>,
}

/// What a channel's messages go into, and where a file's relative paths start.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Target<'s> {
    pub(crate) channel_id: ChannelId,
    pub(crate) base_dir: &'s str,
}

pub(crate) struct Writer<'a, 'p> {
    rift: &'a Rift,
    owner: UserId,
    own: Option<Snowflake>,
    users: HashMap<Snowflake, UserId>,
    report: ImportReport,
    progress: Progress<'p>,
    since_report: u64,
}

pub(crate) fn remote(id: impl ToString) -> BridgeRef {
    BridgeRef::new(SOURCE, id.to_string())
}

/// Whether a service error is about the record (skip it) rather than the service (stop).
fn about_the_record(error: &rift::Error) -> bool {
    matches!(
        error.kind(),
        ErrorKind::Invalid | ErrorKind::TooLarge | ErrorKind::NotFound | ErrorKind::Conflict
    )
}

impl<'a, 'p> Writer<'a, 'p> {
    pub(crate) fn new(rift: &'a Rift, owner: UserId, own: Option<Snowflake>, progress: Progress<'p>) -> Self {
        Self {
            rift,
            owner,
            own,
            users: HashMap::new(),
            report: ImportReport::default(),
            progress,
            since_report: 0,
        }
    }

    /// The owner's Discord id, when known.
    pub(crate) fn set_own(&mut self, own: Snowflake) {
        self.own = Some(own);
    }

    pub(crate) fn own(&self) -> Option<Snowflake> {
        self.own
    }

    pub(crate) fn finish(self) -> ImportReport {
        (self.progress)(&self.report);
        self.report
    }

    /// More messages found.
    pub(crate) fn found(&mut self, count: u64) {
        self.report.total += count;
        self.flush();
    }

    /// Reports progress now.
    pub(crate) fn flush(&mut self) {
        self.since_report = 0;
        (self.progress)(&self.report);
    }

    fn step(&mut self) {
        self.report.done += 1;
        self.since_report += 1;
        if self.since_report >= REPORT_EVERY {
            self.flush();
        }
    }

    /// A record skipped at `location`.
    pub(crate) fn skip(&mut self, location: &str, reason: impl Into<String>) {
        self.report.problem(ProblemKind::Skipped, location, reason);
        self.step();
    }

    /// `count` records skipped together (a channel that cannot be imported).
    pub(crate) fn skip_all(&mut self, location: &str, count: u64, reason: impl Into<String>) {
        self.report.problem(ProblemKind::Skipped, location, reason);
        self.report.skipped += count.saturating_sub(1);
        self.report.done += count;
        self.flush();
    }

    /// A record imported without something.
    pub(crate) fn note(&mut self, location: &str, reason: impl Into<String>) {
        self.report.problem(ProblemKind::Note, location, reason);
    }

    /// The Rift user for a Discord user: the owner for their own account, else a puppet.
    pub(crate) async fn user(&mut self, user: &ImportedUser) -> rift::Result<UserId> {
        if Some(user.id) == self.own {
            return Ok(self.owner);
        }
        if let Some(id) = self.users.get(&user.id) {
            return Ok(*id);
        }
        let bridge = remote(user.id);
        // A puppet the bridge or an earlier import made keeps its name (the bridge knows better).
        let id = match self.rift.find_mirrored(BridgedKind::User, &bridge).await? {
            Some(id) => UserId::from_uuid(id),
            None => self.rift.mirror_user(&RemoteUser::new(bridge, &user.name)).await?.id,
        };
        self.users.insert(user.id, id);
        Ok(id)
    }

    /// The server mirroring `guild`: made the way the bridge makes it when new, used as it is
    /// when it exists and is the owner's. `None` (reported) when it is someone else's.
    pub(crate) async fn server(
        &mut self,
        guild: Snowflake,
        name: &str,
        location: &str,
    ) -> rift::Result<Option<ServerId>> {
        let bridge = remote(guild);
        if !self.rift.may_import_into(self.owner, BridgedKind::Server, &bridge).await? {
            self.note(location, format!("server {guild} is mirrored for another user; not imported"));
            return Ok(None);
        }
        if let Some(id) = self.rift.find_mirrored(BridgedKind::Server, &bridge).await? {
            return Ok(Some(ServerId::from_uuid(id)));
        }
        Ok(Some(self.rift.mirror_server(self.owner, &bridge, name).await?.id))
    }

    /// The channel mirroring `channel` in `server_id` (made when new, else used as it is; a
    /// bridge keeps it up to date). `None` (reported) when it is someone else's.
    pub(crate) async fn channel(
        &mut self,
        server_id: ServerId,
        remote: RemoteChannel,
        location: &str,
    ) -> rift::Result<Option<ChannelId>> {
        let channel = remote.bridge.remote_id.clone();
        if !self.rift.may_import_into(self.owner, BridgedKind::Channel, &remote.bridge).await? {
            self.note(location, format!("channel {channel} is mirrored for another user; not imported"));
            return Ok(None);
        }
        if let Some(id) = self.rift.find_mirrored(BridgedKind::Channel, &remote.bridge).await? {
            return Ok(Some(ChannelId::from_uuid(id)));
        }
        match self.rift.mirror_channel(server_id, &remote).await {
            Ok(created) => Ok(Some(created.id)),
            Err(error) if about_the_record(&error) => {
                self.note(location, format!("channel {channel}: {}", error.public_message()));
                Ok(None)
            }
            Err(error) => Err(error),
        }
    }

    /// The DM or group DM mirroring `channel`, with the owner and `recipients` when new.
    pub(crate) async fn dm(
        &mut self,
        channel: Snowflake,
        kind: ChannelKind,
        name: Option<&str>,
        recipients: &[ImportedUser],
        location: &str,
    ) -> rift::Result<Option<ChannelId>> {
        let bridge = remote(channel);
        if !self.rift.may_import_into(self.owner, BridgedKind::Channel, &bridge).await? {
            self.note(location, format!("DM {channel} is mirrored for another user; not imported"));
            return Ok(None);
        }
        if let Some(id) = self.rift.find_mirrored(BridgedKind::Channel, &bridge).await? {
            return Ok(Some(ChannelId::from_uuid(id)));
        }
        let mut ids = Vec::with_capacity(recipients.len());
        for user in recipients {
            ids.push(self.user(user).await?);
        }
        Ok(Some(self.rift.mirror_dm(self.owner, &bridge, kind, name, &ids).await?.id))
    }

    /// Stores one message (or brings a stored one up to a later edit) with its files and
    /// reactions; a message the service refuses is reported and skipped.
    pub(crate) async fn message(
        &mut self,
        message: ImportedMessage,
        target: Target<'_>,
        source: &mut Source,
        location: &str,
    ) -> rift::Result<()> {
        let bridge = remote(message.id);
        let rift = self.rift.clone();
        let author = match &message.author {
            Some(user) => self.user(user).await?,
            None => self.owner,
        };
        if let Some(id) = rift.find_mirrored(BridgedKind::Message, &bridge).await? {
            let Some(stored) = rift.mirrored_message(MessageId::from_uuid(id)).await? else {
                self.skip(location, "the stored message cannot be read");
                return Ok(());
            };
            if stored.channel_id != target.channel_id {
                self.skip(location, format!("message {} is stored in another channel", message.id));
                return Ok(());
            }
            let later_edit =
                message.edited_at.is_some_and(|at| stored.edited_at.is_none_or(|stored_at| at > stored_at));
            if later_edit && stored.deleted_at.is_none() && stored.content != message.content {
                let at = message.edited_at.unwrap_or(message.created_at);
                match self.rift.mirror_edit(&bridge, &message.content, at).await {
                    Ok(_) => self.report.updated += 1,
                    Err(error) if about_the_record(&error) => {
                        self.note(location, format!("edit not applied: {}", error.public_message()));
                    }
                    Err(error) => return Err(error),
                }
            } else {
                self.report.unchanged += 1;
            }
            self.reactions(&bridge, &message.reactions, location).await?;
            self.step();
            return Ok(());
        }
        let reply_to = match message.reply_to {
            Some(target) => {
                rift.find_mirrored(BridgedKind::Message, &remote(target)).await?.map(MessageId::from_uuid)
            }
            None => None,
        };
        if message.reply_to.is_some() && reply_to.is_none() {
            self.note(location, "replies to a message that was not imported; stored without the link");
        }
        let (attachment_ids, links) =
            self.attachments(author, &message.attachments, target.base_dir, source, location).await?;
        let mut extras = message.extras.clone();
        if !links.is_empty() {
            let object = extras.get_or_insert_with(|| Value::Object(Default::default()));
            if let Some(map) = object.as_object_mut() {
                map.insert("attachment_links".into(), Value::Array(links));
            }
        }
        let mut remote_message = RemoteMessage::new(
            bridge.clone(),
            target.channel_id,
            author,
            message.content.clone(),
            message.created_at,
        );
        remote_message.reply_to = reply_to;
        remote_message.edited_at = message.edited_at;
        remote_message.attachment_ids = attachment_ids;
        remote_message.extras = extras;
        match self.rift.mirror_message(remote_message).await {
            Ok(created) => {
                if created.created {
                    self.report.imported += 1;
                } else {
                    self.report.unchanged += 1;
                }
            }
            Err(error) if about_the_record(&error) => {
                self.skip(location, error.public_message());
                return Ok(());
            }
            Err(error) => return Err(error),
        }
        self.reactions(&bridge, &message.reactions, location).await?;
        self.step();
        Ok(())
    }

    /// Stores the files found beside the export (once, under Discord's attachment id, as the
    /// bridge stores them); the others become links, each with a note.
    async fn attachments(
        &mut self,
        author: UserId,
        attachments: &[ImportedAttachment],
        base_dir: &str,
        source: &mut Source,
        location: &str,
    ) -> rift::Result<(Vec<UploadId>, Vec<Value>)> {
        let rift = self.rift.clone();
        let (mut ids, mut links) = (Vec::new(), Vec::new());
        for attachment in attachments {
            let key = attachment.id.map(remote);
            if let Some(key) = &key
                && let Some(id) = rift.find_mirrored(BridgedKind::Upload, key).await?
            {
                ids.push(UploadId::from_uuid(id));
                continue;
            }
            let link = serde_json::json!({ "filename": attachment.filename, "url": attachment.url });
            let is_remote = attachment.url.starts_with("http://") || attachment.url.starts_with("https://");
            if is_remote {
                self.note(location, format!("{} is not in the export; kept as a link", attachment.filename));
                links.push(link);
                continue;
            }
            let path = super::join(base_dir, &attachment.url);
            let bytes = match source.read(&path, MAX_FILE_BYTES).await {
                Ok(Some(bytes)) => bytes,
                Ok(None) => {
                    self.note(
                        location,
                        format!("{} was not found beside the export; kept as a link", attachment.url),
                    );
                    links.push(link);
                    continue;
                }
                Err(error) if about_the_record(&error) => {
                    self.note(
                        location,
                        format!("{}: {}; kept as a link", attachment.url, error.public_message()),
                    );
                    links.push(link);
                    continue;
                }
                Err(error) => return Err(error),
            };
            // Without Discord's id the file is keyed by where it was found in the export.
            let key = key.unwrap_or_else(|| remote(format!("import:{path}")));
            match self.rift.mirror_attachment(author, &key, &attachment.filename, None, &bytes).await {
                Ok(upload) => {
                    self.report.files += 1;
                    ids.push(upload.id);
                }
                Err(error) => {
                    tracing::warn!(%error, "an imported file was not stored");
                    self.note(
                        location,
                        format!("{} could not be stored; kept as a link", attachment.filename),
                    );
                    links.push(link);
                }
            }
        }
        Ok((ids, links))
    }

    async fn reactions(
        &mut self,
        message: &BridgeRef,
        reactions: &[ImportedReaction],
        location: &str,
    ) -> rift::Result<()> {
        for reaction in reactions {
            for user in &reaction.users {
                let user_id = self.user(user).await?;
                self.rift.mirror_reaction(message, user_id, &reaction.emoji, true).await?;
            }
            let missing = reaction.count.saturating_sub(reaction.users.len() as u64);
            if missing > 0 {
                self.note(
                    location,
                    format!("{missing} of the {} reactions are not named in the export", reaction.emoji),
                );
            }
        }
        Ok(())
    }
}
