//! Building `rift`'s `#[non_exhaustive]` domain objects from outside their crate.
//!
//! Most of them have no public constructor, and non-exhaustive structs cannot be written as literals
//! here. Their fields are public and they derive `Deserialize`, so each kind gets a blank
//! prototype, deserialised once from a minimal JSON object, which the row conversions clone and
//! fill in field by field. If `rift` grows constructors, these can go.

use std::sync::OnceLock;

use rift::StoreError;
use rift::model::{
    AuditEntry, Ban, BridgeConnection, DmChannel, Invite, Member, Message, MessageHistoryEntry, Server,
    Upload, User,
};
use serde_json::json;

const NIL: &str = "00000000-0000-0000-0000-000000000000";
const EPOCH: &str = "1970-01-01T00:00:00Z";

macro_rules! prototype {
    ($(#[$doc:meta])* $name:ident -> $ty:ty = $json:expr) => {
        $(#[$doc])*
        pub(crate) fn $name() -> Result<$ty, StoreError> {
            static CELL: OnceLock<Result<$ty, String>> = OnceLock::new();
            CELL.get_or_init(|| serde_json::from_value::<$ty>($json).map_err(|e| e.to_string()))
                .clone()
                .map_err(|e| StoreError::Corrupt(format!("cannot build {}: {e}", stringify!($ty))))
        }
    };
}

prototype!(
    /// A blank user.
    user -> User = json!({
        "id": NIL, "username": "", "display_name": "", "avatar_url": null, "status": "offline",
        "created_at": EPOCH,
    })
);
prototype!(
    /// A blank server.
    server -> Server = json!({
        "id": NIL, "name": "", "icon_url": null, "owner_id": NIL, "created_at": EPOCH,
    })
);
prototype!(
    /// A blank member (with a blank user).
    member -> Member = json!({
        "user": { "id": NIL, "username": "", "display_name": "", "avatar_url": null,
                  "status": "offline", "created_at": EPOCH },
        "server_id": NIL, "nickname": null, "roles": [], "joined_at": EPOCH,
    })
);
prototype!(
    /// A blank ban (with a blank user).
    ban -> Ban = json!({
        "user": { "id": NIL, "username": "", "display_name": "", "avatar_url": null,
                  "status": "offline", "created_at": EPOCH },
        "reason": null, "created_at": EPOCH,
    })
);
prototype!(
    /// A blank upload.
    upload -> Upload = json!({
        "id": NIL, "filename": "", "content_type": "", "size": 0, "url": "",
    })
);
prototype!(
    /// A blank message (with a blank author).
    message -> Message = json!({
        "id": NIL, "channel_id": NIL,
        "author": { "id": NIL, "username": "", "display_name": "", "avatar_url": null,
                    "status": "offline", "created_at": EPOCH },
        "content": "", "created_at": EPOCH, "edited_at": null, "attachments": [], "reactions": [],
        "reply_to": null,
    })
);
prototype!(
    /// A blank message history entry.
    history_entry -> MessageHistoryEntry = json!({
        "id": NIL, "message_id": NIL, "action": "edit", "old_content": null, "new_content": null,
        "actor_id": null, "created_at": EPOCH,
    })
);
prototype!(
    /// A blank server audit-log entry.
    audit_entry -> AuditEntry = json!({
        "id": NIL, "server_id": NIL, "actor_id": null, "action": "", "target_id": null,
        "changes": null, "reason": null, "created_at": EPOCH,
    })
);
prototype!(
    /// A blank invite.
    invite -> Invite = json!({
        "code": "", "server": { "id": NIL, "name": "", "icon_url": null }, "channel_id": null,
        "uses": 0, "max_uses": 0, "expires_at": null, "creator_id": NIL, "created_at": EPOCH,
    })
);
prototype!(
    /// A blank DM channel.
    dm_channel -> DmChannel = json!({
        "id": NIL, "kind": "dm", "recipients": [], "last_message_id": null,
    })
);
prototype!(
    /// A blank bridge connection.
    bridge_connection -> BridgeConnection = json!({
        "id": NIL, "source": "", "owner_id": NIL, "token_kind": "", "mode": "", "status": "stopped",
        "status_reason": null, "remote_user_id": null, "created_at": EPOCH,
    })
);

#[cfg(test)]
mod tests {
    #[test]
    fn every_prototype_builds() {
        assert!(super::user().is_ok());
        assert!(super::server().is_ok());
        assert!(super::member().is_ok());
        assert!(super::ban().is_ok());
        assert!(super::upload().is_ok());
        assert!(super::message().is_ok());
        assert!(super::history_entry().is_ok());
        assert!(super::audit_entry().is_ok());
        assert!(super::invite().is_ok());
        assert!(super::dm_channel().is_ok());
        assert!(super::bridge_connection().is_ok());
    }
}
