//! Pins both ways. Discord → Rift: on CHANNEL_PINS_UPDATE (and once per channel after its
//! history is read) the channel's pinned list is read and handed to [`rift::Rift::mirror_pins`],
//! which pins and unpins to match. Rift → Discord (relay mode): a pin or unpin in Rift becomes
//! `PUT`/`DELETE /channels/{c}/pins/{m}` for the Discord message (the first part of a split one)
//! unless Discord's pinned list already says so; a pin mirrored from Discord therefore never
//! goes back, and the relayed pin's own CHANNEL_PINS_UPDATE changes nothing in Rift.

use rift::MessageId;
use rift::bridge::BridgeContext;
use rift::store::BridgedKind;

use super::relay;
use crate::Error;
use crate::model::Snowflake;
use crate::rest::Client;

/// Makes a mirrored channel's pins those Discord lists. Pinned messages not mirrored yet are
/// skipped (a later update or backfill pins them). Does nothing for a channel not mirrored.
pub(crate) async fn sync(ctx: &BridgeContext, rest: &Client, channel: Snowflake) -> rift::Result<()> {
    if ctx.find(BridgedKind::Channel, &channel.to_string()).await?.is_none() {
        return Ok(());
    }
    let pinned = rest
        .pinned_messages(channel)
        .await
        .map_err(|error| rift::Error::Internal(format!("reading Discord's pins failed: {error}")))?;
    let mut ids = Vec::with_capacity(pinned.len());
    for message in &pinned {
        if let Some(id) = rift_message(ctx, message.id).await? {
            ids.push(id);
        }
    }
    ctx.rift().mirror_pins(&ctx.remote(channel.to_string()), &ids).await?;
    Ok(())
}

/// The Rift message behind a Discord message: a part this connection relayed, or a mirrored one.
async fn rift_message(ctx: &BridgeContext, remote: Snowflake) -> rift::Result<Option<MessageId>> {
    if let Some(id) = relay::relayed_message(ctx, remote).await? {
        return Ok(Some(id));
    }
    Ok(ctx.find(BridgedKind::Message, &remote.to_string()).await?.map(MessageId::from_uuid))
}

/// Relays a Rift pin (`pin`) or unpin of `message` to Discord when Discord's pinned list differs.
pub(crate) async fn relay(
    ctx: &BridgeContext,
    rest: &Client,
    message: MessageId,
    pin: bool,
) -> rift::Result<()> {
    let Some(stored) = ctx.rift().mirrored_message(message).await? else { return Ok(()) };
    let Some(channel) = relay::remote_channel(ctx, &stored).await? else { return Ok(()) };
    let Some(remote) = relay::remote_ids(ctx, message).await?.into_iter().next() else { return Ok(()) };
    let failed = |error: Error| rift::Error::Internal(format!("relaying a pin failed: {error}"));
    let pinned_on_discord =
        rest.pinned_messages(channel).await.map_err(failed)?.iter().any(|m| m.id == remote);
    if pinned_on_discord == pin {
        return Ok(()); // Discord already agrees: the pin came from there, or was relayed before.
    }
    let result =
        if pin { rest.pin_message(channel, remote).await } else { rest.unpin_message(channel, remote).await };
    match result {
        // The message is gone on Discord: nothing left to pin or unpin.
        Ok(()) | Err(Error::NotFound { .. }) => Ok(()),
        Err(error) => Err(failed(error)),
    }
}
