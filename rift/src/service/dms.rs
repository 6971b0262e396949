//! Direct-message channels. Their messages go through the same message operations as server
//! channels; only who may see them differs (the participants).

use crate::error::{Error, ErrorCode, Resource, Result};
use crate::event::{Event, Topic};
use crate::id::{ChannelId, UserId};
use crate::model::{ChannelKind, DmChannel};

use super::{Created, Rift};

impl Rift {
    /// Opens (or finds) the DM channel between the caller and `recipient`.
    ///
    /// # Errors
    /// 400 `cannot_dm_self`; 404 unknown user; 403 `no_mutual_server` when the two share no server
    /// and have no DM yet.
    pub async fn open_dm(&self, user_id: UserId, recipient: UserId) -> Result<Created<DmChannel>> {
        if recipient == user_id {
            return Err(Error::invalid(ErrorCode::CannotDmSelf, "you cannot open a DM with yourself"));
        }
        let store = &self.inner.store;
        if store.user(recipient).await?.is_none() {
            return Err(Error::NotFound(Resource::User));
        }
        let existing = self.dm_channels(user_id).await?;
        // Only a two-person DM: a group DM with the recipient is not "the DM with them".
        let is_theirs =
            |dm: &DmChannel| dm.kind == ChannelKind::Dm && dm.recipients.iter().any(|u| u.id == recipient);
        if let Some(dm) = existing.into_iter().find(is_theirs) {
            return Ok(Created { value: dm, created: false });
        }
        if !store.share_a_server(user_id, recipient).await? {
            return Err(Error::forbidden(ErrorCode::NoMutualServer, "you share no server with that user"));
        }
        let (channel_id, created) = store.open_dm(user_id, recipient, ChannelId::new(), self.now()).await?;
        let dm = self.dm_channel(user_id, channel_id).await?;
        if created {
            for participant in [user_id, recipient] {
                let view = self.dm_channel(participant, channel_id).await?;
                self.publish(Topic::User(participant), Event::DmChannelCreate(view));
            }
        }
        Ok(Created { value: dm, created })
    }

    /// The caller's DM channels.
    pub async fn dm_channels(&self, user_id: UserId) -> Result<Vec<DmChannel>> {
        let dms = self.inner.store.dm_channels(user_id).await?;
        Ok(dms.into_iter().map(|dm| self.public_dm(dm)).collect())
    }

    /// One of the caller's DM channels; 404 if they are not in it.
    pub async fn dm_channel(&self, user_id: UserId, channel_id: ChannelId) -> Result<DmChannel> {
        let dm = self
            .inner
            .store
            .dm_channel(channel_id, user_id)
            .await?
            .ok_or(Error::NotFound(Resource::Channel))?;
        Ok(self.public_dm(dm))
    }

    fn public_dm(&self, mut dm: DmChannel) -> DmChannel {
        dm.recipients = dm.recipients.into_iter().map(|u| self.public_view(u)).collect();
        dm
    }
}
