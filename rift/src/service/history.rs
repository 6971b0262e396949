//! Who sees a message's earlier versions and deleted content (a server's [`HistorySettings`]),
//! and the retention purge that erases them after the server's retention period.

use serde::Deserialize;
use serde_json::json;

use crate::error::{Error, ErrorCode, Result};
use crate::event::{Event, Topic};
use crate::id::{AuditEntryId, ChannelId, MessageId, ServerId, Timestamp, UploadId, UserId};
use crate::model::{AuditEntry, Channel, HistorySettings, HistoryVisibility};
use crate::permissions::Permissions;
use crate::store::PurgeCounts;

use super::{ChannelAccess, Rift};

/// The longest retention period a server may set, in days (100 years).
pub const MAX_RETENTION_DAYS: u32 = 36_500;

/// `PATCH /api/servers/:id/history-settings`: fields left out keep their value.
#[derive(Debug, Clone, Default, Deserialize)]
#[non_exhaustive]
pub struct HistorySettingsUpdate {
    /// Who may see earlier versions of live messages.
    #[serde(default)]
    pub edits: Option<HistoryVisibility>,
    /// Who may see deleted messages' content.
    #[serde(default)]
    pub deletes: Option<HistoryVisibility>,
    /// Days to keep them (1–36500); `null` keeps them forever.
    #[serde(default, deserialize_with = "super::double_option")]
    pub retention_days: Option<Option<u32>>,
}

/// Which part of a message's past a rule is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Past {
    /// Earlier versions of a live message.
    Edits,
    /// A deleted message's content and trail.
    Deletes,
}

impl Rift {
    /// The history settings that apply in a channel: its server's, or the defaults in DMs.
    pub(crate) async fn channel_history_settings(
        &self,
        server_id: Option<ServerId>,
    ) -> Result<HistorySettings> {
        Ok(match server_id {
            Some(server_id) => self.inner.store.history_settings(server_id).await?,
            None => HistorySettings::default(),
        })
    }

    /// Whether the caller may see this part of a message's past. The author always may (it is
    /// their own text), and so may the bridge owner in a mirrored DM; otherwise the server's setting
    /// decides, on top of READ_HISTORY.
    pub(crate) async fn may_see_past(
        &self,
        user_id: UserId,
        access: &ChannelAccess,
        author_id: UserId,
        past: Past,
    ) -> Result<bool> {
        Ok(author_id == user_id
            || self.sees_others_past(user_id, &access.channel, access.permissions, past).await?)
    }

    /// Whether the caller, with `permissions` in `channel`, sees this part of the past of
    /// messages written by others: the bridge owner in a mirrored DM does; otherwise the server's
    /// setting decides, on top of READ_HISTORY. (Their own messages they always see.)
    pub(crate) async fn sees_others_past(
        &self,
        user_id: UserId,
        channel: &Channel,
        permissions: Permissions,
        past: Past,
    ) -> Result<bool> {
        if self.owns_mirrored_dm(user_id, channel).await? {
            return Ok(true);
        }
        let settings = self.channel_history_settings(channel.server_id).await?;
        Ok(visible_to(settings, past, permissions))
    }

    /// Publishes a delete: with the content for everyone when the server shows deleted content
    /// to every reader, without it otherwise.
    pub(crate) async fn publish_delete(
        &self,
        channel_id: ChannelId,
        server_id: Option<ServerId>,
        id: MessageId,
        content: String,
    ) -> Result<()> {
        let settings = self.channel_history_settings(server_id).await?;
        let content = (settings.deletes == HistoryVisibility::Everyone).then_some(content);
        self.publish(Topic::Channel(channel_id), Event::MessageDelete { id, channel_id, content });
        Ok(())
    }

    /// A server's history settings (any member may read them: they say what others can see).
    ///
    /// # Errors
    /// 404 when the caller is not a member.
    pub async fn history_settings(&self, user_id: UserId, server_id: ServerId) -> Result<HistorySettings> {
        self.server_access(user_id, server_id).await?;
        Ok(self.inner.store.history_settings(server_id).await?)
    }

    /// Changes a server's history settings (MANAGE_SERVER), logged as `history_settings_update`.
    ///
    /// # Errors
    /// 403 without MANAGE_SERVER; 400 `invalid_retention` outside 1–36500 days.
    pub async fn update_history_settings(
        &self,
        user_id: UserId,
        server_id: ServerId,
        update: HistorySettingsUpdate,
    ) -> Result<HistorySettings> {
        let access = self.server_access(user_id, server_id).await?;
        access.require(Permissions::MANAGE_SERVER)?;
        if let Some(Some(days)) = update.retention_days
            && !(1..=MAX_RETENTION_DAYS).contains(&days)
        {
            return Err(Error::invalid(
                ErrorCode::InvalidRetention,
                format!("retention_days must be between 1 and {MAX_RETENTION_DAYS}, or null"),
            ));
        }
        let old = self.inner.store.history_settings(server_id).await?;
        let new = HistorySettings::new(
            update.edits.unwrap_or(old.edits),
            update.deletes.unwrap_or(old.deletes),
            update.retention_days.unwrap_or(old.retention_days),
        );
        let now = self.now();
        let audit = AuditEntry {
            id: AuditEntryId::new(),
            server_id,
            actor_id: Some(user_id),
            action: "history_settings_update".to_owned(),
            target_id: Some(server_id.uuid()),
            changes: json!({ "old": old, "new": new }),
            reason: None,
            created_at: now,
        };
        self.inner.store.set_history_settings(server_id, &new, now, Some(&audit)).await?;
        Ok(new)
    }

    /// Purges, in every server with a retention period, the earlier versions and deleted content
    /// older than it: the text, and the attachments (rows and files) of messages deleted before
    /// then, except a file someone's avatar or a server's icon still shows. Each server that lost
    /// anything gets a `history_purge` audit entry (no actor) with the counts. Returns the servers
    /// purged and what each lost. `rift-server` runs this periodically.
    ///
    /// Files go first, rows after: an interrupted purge leaves rows whose files are gone (served
    /// as 404), which the next run removes, never a file no row names. Without a file store (see
    /// [`Rift::set_file_store`]) attachments stay until a process that has one purges.
    ///
    /// # Errors
    /// A store failure (the servers before it stay purged).
    pub async fn purge_expired_history(&self) -> Result<Vec<(ServerId, PurgeCounts)>> {
        let now = self.now();
        let mut purged = Vec::new();
        for (server_id, days) in self.inner.store.servers_with_retention().await? {
            let older_than = now - chrono::Duration::days(i64::from(days));
            let attachments = self.remove_purged_files(server_id, older_than).await?;
            let audit = AuditEntry {
                id: AuditEntryId::new(),
                server_id,
                actor_id: None,
                action: "history_purge".to_owned(),
                target_id: Some(server_id.uuid()),
                changes: json!({ "retention_days": days, "older_than": older_than }),
                reason: Some("retention".to_owned()),
                created_at: now,
            };
            let counts = self.inner.store.purge_history(server_id, older_than, &attachments, &audit).await?;
            if counts != PurgeCounts::default() {
                purged.push((server_id, counts));
            }
        }
        Ok(purged)
    }

    /// Removes the files of the attachments a purge of `server_id` takes; returns those whose
    /// file is gone (a file that cannot be removed keeps its row, for the next run).
    async fn remove_purged_files(&self, server_id: ServerId, older_than: Timestamp) -> Result<Vec<UploadId>> {
        let Some(files) = self.inner.files.get() else { return Ok(Vec::new()) };
        let mut removed = Vec::new();
        for id in self.inner.store.purgeable_attachments(server_id, older_than).await? {
            match files.remove(id).await {
                Ok(()) => removed.push(id),
                Err(error) => tracing::warn!(%id, %error, "history purge could not remove a file"),
            }
        }
        Ok(removed)
    }
}

/// The setting's answer for someone other than the author.
fn visible_to(settings: HistorySettings, past: Past, permissions: Permissions) -> bool {
    let rule = match past {
        Past::Edits => settings.edits,
        Past::Deletes => settings.deletes,
    };
    permissions.contains(Permissions::READ_HISTORY)
        && match rule {
            HistoryVisibility::Nobody => false,
            HistoryVisibility::Moderators => permissions.contains(Permissions::MANAGE_MESSAGES),
            HistoryVisibility::Everyone => true,
        }
}

#[cfg(test)]
mod tests {
    use super::*;
    use HistoryVisibility::*;

    #[test]
    fn settings_decide_for_others() {
        let reader = Permissions::VIEW_CHANNELS | Permissions::READ_HISTORY;
        let moderator = reader | Permissions::MANAGE_MESSAGES;
        let default = HistorySettings::default();
        // Today's behaviour: edits for every reader, deletes for moderators.
        assert!(visible_to(default, Past::Edits, reader));
        assert!(!visible_to(default, Past::Deletes, reader));
        assert!(visible_to(default, Past::Deletes, moderator));
        let closed = HistorySettings::new(Nobody, Nobody, None);
        assert!(!visible_to(closed, Past::Edits, moderator));
        assert!(!visible_to(closed, Past::Deletes, moderator));
        let open = HistorySettings::new(Moderators, Everyone, Some(30));
        assert!(!visible_to(open, Past::Edits, reader));
        assert!(visible_to(open, Past::Deletes, reader));
        // Never without READ_HISTORY.
        assert!(!visible_to(open, Past::Deletes, Permissions::VIEW_CHANNELS | Permissions::MANAGE_MESSAGES));
    }

    #[test]
    fn update_reads_null_retention_as_forever() {
        let u: HistorySettingsUpdate = serde_json::from_str(r#"{"retention_days":null}"#).unwrap();
        assert_eq!(u.retention_days, Some(None));
        let u: HistorySettingsUpdate = serde_json::from_str(r#"{"edits":"moderators"}"#).unwrap();
        assert_eq!((u.edits, u.retention_days), (Some(Moderators), None));
        assert!(serde_json::from_str::<HistorySettingsUpdate>(r#"{"edits":"all"}"#).is_err());
    }
}
