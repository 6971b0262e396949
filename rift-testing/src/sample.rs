//! A small world with one of everything an export carries, made through the service layer:
//! users, a server with a role, a category, a channel inside it and an overwrite, members with a
//! role, messages (edited, deleted, a reply, a hostile one), reactions, an attachment with its
//! file, a DM, a ban, an invite and the audit log those actions wrote.

use std::path::Path;

use rift::id::{ChannelId, MessageId, ServerId, UploadId, UserId};
use rift::model::{ChannelKind, HistoryVisibility, OverwriteKind};
use rift::{
    ChannelInput, HistorySettingsUpdate, InviteInput, NewUpload, OverwriteInput, Permissions, RegisterInput,
    Rift, RoleInput, SendMessage,
};

/// A message no archive may run or break: markup, an entity and quotes.
pub const HOSTILE: &str = "<script>alert('pwned')</script> & <img src=x onerror=alert(1)> \"quoted\"";

/// What [`populate`] made.
#[derive(Debug, Clone)]
pub struct Sample {
    /// The server's owner (password `alice-password`).
    pub alice: UserId,
    /// A member with a role (password `bobby-password`).
    pub bob: UserId,
    /// A banned user (password `carol-password`).
    pub carol: UserId,
    /// The server.
    pub server: ServerId,
    /// The text channel inside the category.
    pub channel: ChannelId,
    /// Alice and Bob's DM.
    pub dm: ChannelId,
    /// The message that was edited twice (and has a reaction and the attachment).
    pub edited: MessageId,
    /// The attachment's upload.
    pub upload: UploadId,
    /// The attachment's bytes, also written to the upload dir.
    pub upload_bytes: Vec<u8>,
}

/// A panic with the step that failed: a test fixture.
fn ok<T>(step: &str, result: rift::Result<T>) -> T {
    result.unwrap_or_else(|e| panic!("sample: {step}: {e}"))
}

/// Fills `rift`'s database; the attachment's bytes go to `upload_dir/<upload id>`.
///
/// # Panics
/// When a step fails (the database is expected to be empty).
pub async fn populate(rift: &Rift, upload_dir: &Path) -> Sample {
    let alice = ok("alice", rift.register(RegisterInput::new("alice", "alice-password")).await).user.id;
    let mut bob_input = RegisterInput::new("bob", "bobby-password");
    bob_input.display_name = Some("Bob <b>Builder</b>".into());
    bob_input.email = Some("bob@example.invalid".into());
    let bob = ok("bob", rift.register(bob_input).await).user.id;
    let carol = ok("carol", rift.register(RegisterInput::new("carol", "carol-password")).await).user.id;

    let server = ok("server", rift.create_server(alice, "Guild & <Friends>").await).id;
    let role = ok(
        "role",
        rift.create_role(alice, server, RoleInput::new("mods", Permissions::MANAGE_MESSAGES)).await,
    )
    .id;
    let mut category = ChannelInput::text("Text");
    category.kind = ChannelKind::Category;
    let category = ok("category", rift.create_channel(alice, server, category).await).id;
    let mut inside = ChannelInput::text("chat");
    inside.parent_id = Some(category);
    inside.topic = Some("talk <here>".into());
    let channel = ok("channel", rift.create_channel(alice, server, inside).await).id;
    ok(
        "overwrite",
        rift.put_overwrite(
            alice,
            channel,
            role.uuid(),
            OverwriteInput::new(OverwriteKind::Role, Permissions::MANAGE_MESSAGES, Permissions::NONE),
        )
        .await,
    );
    let mut invite = InviteInput::default();
    invite.max_uses = Some(5);
    let invite = ok("invite", rift.create_invite(alice, server, invite).await);
    ok("bob joins", rift.join_server(bob, server, &invite.code).await);
    ok("carol joins", rift.join_server(carol, server, &invite.code).await);
    ok("bob's role", rift.set_member_role(alice, role, bob, true).await);
    ok("ban carol", rift.ban(alice, server, carol, Some("spam & <links>".into())).await);

    let upload_bytes = b"plain text attachment\n".to_vec();
    let upload = UploadId::new();
    std::fs::create_dir_all(upload_dir).expect("upload dir");
    std::fs::write(upload_dir.join(upload.to_string()), &upload_bytes).expect("write upload");
    let head = upload_bytes.clone();
    let size = upload_bytes.len() as u64;
    ok("upload", rift.record_upload(alice, NewUpload::new(upload, "notes <1>.txt", None, head, size)).await);

    let first = ok("hello", rift.send_message(alice, channel, SendMessage::text("hello everyone")).await);
    let mut with_file = SendMessage::text("first draft");
    with_file.attachment_ids = vec![upload];
    let edited = ok("draft", rift.send_message(alice, channel, with_file).await).message.id;
    ok("edit 1", rift.edit_message(alice, edited, "second draft").await);
    ok("edit 2", rift.edit_message(alice, edited, "final text").await);
    let mut reply = SendMessage::text(HOSTILE);
    reply.reply_to = Some(first.message.id);
    ok("hostile", rift.send_message(bob, channel, reply).await);
    let gone = ok("doomed", rift.send_message(bob, channel, SendMessage::text("to be deleted")).await);
    ok("delete", rift.delete_message(alice, gone.message.id).await);
    ok("react 1", rift.add_reaction(bob, edited, "👍").await);
    ok("react 2", rift.add_reaction(alice, edited, "👍").await);
    ok("react 3", rift.add_reaction(bob, edited, "party:123").await);
    ok("pin", rift.pin_message(alice, channel, first.message.id).await);
    ok("everyone", rift.send_message(alice, channel, SendMessage::text("@everyone meeting at noon")).await);
    let mut settings = HistorySettingsUpdate::default();
    settings.deletes = Some(HistoryVisibility::Everyone);
    settings.retention_days = Some(Some(365));
    ok("history settings", rift.update_history_settings(alice, server, settings).await);

    let dm = ok("dm", rift.open_dm(alice, bob).await).value.id;
    ok("dm message", rift.send_message(bob, dm, SendMessage::text("a private word")).await);

    Sample { alice, bob, carol, server, channel, dm, edited, upload, upload_bytes }
}
