//! Channels and overwrites.

use rift::id::{ChannelId, UserId};
use rift::model::{Channel, ChannelKind, OverwriteKind, PermissionOverwrite};
use rift::store::ChannelPatch;
use rift::{Permissions, Store, StoreError};
use uuid::Uuid;

use crate::fixtures::*;

pub(crate) async fn channels_round_trip_with_overwrites_in_order(store: &dyn Store) {
    let owner = user(store, "owner").await;
    let (server, general) = server(store, &owner).await;
    let mut category = Channel::new(ChannelId::new(), server.id, "Talk", ChannelKind::Category);
    category.position = 1;
    let category = store.create_channel(&category).await.unwrap();
    let mut voice = Channel::new(ChannelId::new(), server.id, "voice", ChannelKind::Voice);
    voice.position = 1;
    voice.parent_id = Some(category.id);
    voice.topic = Some("talk here".into());
    voice.permission_overwrites = vec![PermissionOverwrite {
        id: owner.id.uuid(),
        kind: OverwriteKind::Member,
        allow: Permissions::VIEW_CHANNELS,
        deny: Permissions::SEND_MESSAGES,
    }];
    let created = store.create_channel(&voice).await.unwrap();
    assert_eq!(created, voice);
    assert_eq!(store.channel(voice.id).await.unwrap(), Some(voice.clone()));
    // Position, then id.
    assert_eq!(store.channels(server.id).await.unwrap(), vec![general, category, voice]);
    assert_eq!(store.channel(ChannelId::new()).await.unwrap(), None);
}

pub(crate) async fn duplicate_bridged_channel_conflicts(store: &dyn Store) {
    let owner = user(store, "owner").await;
    let (server, _) = server(store, &owner).await;
    let mut a = Channel::new(ChannelId::new(), server.id, "a", ChannelKind::Text);
    a.bridge = bridge("42");
    store.create_channel(&a).await.unwrap();
    let mut b = Channel::new(ChannelId::new(), server.id, "b", ChannelKind::Text);
    b.bridge = bridge("42");
    let clash = store.create_channel(&b).await;
    assert!(matches!(clash, Err(StoreError::Conflict(rift::Conflict::BridgeRef))), "{clash:?}");
    // Native channels (NULL bridge columns) never clash with each other.
    store.create_channel(&Channel::new(ChannelId::new(), server.id, "c", ChannelKind::Text)).await.unwrap();
    store.create_channel(&Channel::new(ChannelId::new(), server.id, "d", ChannelKind::Text)).await.unwrap();
    assert_eq!(store.channels(server.id).await.unwrap().len(), 4);
}

pub(crate) async fn update_channel_and_overwrites(store: &dyn Store) {
    let owner = user(store, "owner").await;
    let (server, general) = server(store, &owner).await;
    let category = store
        .create_channel(&Channel::new(ChannelId::new(), server.id, "cat", ChannelKind::Category))
        .await
        .unwrap();
    let patch = ChannelPatch {
        name: Some("lobby".into()),
        topic: Some(Some("hi".into())),
        position: Some(5),
        parent_id: Some(Some(category.id)),
    };
    let updated = store.update_channel(general.id, &patch).await.unwrap().unwrap();
    assert_eq!(
        (updated.name.as_str(), updated.topic.as_deref(), updated.position, updated.parent_id),
        ("lobby", Some("hi"), 5, Some(category.id))
    );
    let patch = ChannelPatch { topic: Some(None), parent_id: Some(None), ..Default::default() };
    let updated = store.update_channel(general.id, &patch).await.unwrap().unwrap();
    assert_eq!((updated.topic, updated.parent_id, updated.name.as_str()), (None, None, "lobby"));
    assert_eq!(store.update_channel(ChannelId::new(), &patch).await.unwrap(), None);

    let role_target = Uuid::from(server.id);
    let mut overwrite = PermissionOverwrite {
        id: role_target,
        kind: OverwriteKind::Role,
        allow: Permissions::NONE,
        deny: Permissions::VIEW_CHANNELS,
    };
    store.put_overwrite(general.id, &overwrite).await.unwrap();
    overwrite.allow = Permissions::SEND_MESSAGES;
    store.put_overwrite(general.id, &overwrite).await.unwrap();
    assert_eq!(store.channel(general.id).await.unwrap().unwrap().permission_overwrites, vec![overwrite]);
    assert_eq!(
        store
            .channels(server.id)
            .await
            .unwrap()
            .iter()
            .find(|c| c.id == general.id)
            .unwrap()
            .permission_overwrites,
        vec![overwrite]
    );
    assert!(store.delete_overwrite(general.id, role_target).await.unwrap());
    assert!(!store.delete_overwrite(general.id, role_target).await.unwrap());
    assert!(store.channel(general.id).await.unwrap().unwrap().permission_overwrites.is_empty());
    let unknown = store.put_overwrite(ChannelId::new(), &overwrite).await;
    assert!(matches!(unknown, Err(StoreError::Missing(_))), "{unknown:?}");
}

pub(crate) async fn deleting_a_channel_takes_its_messages(store: &dyn Store) {
    let owner = user(store, "owner").await;
    let (server, general) = server(store, &owner).await;
    let m = message(store, general.id, owner.id, "bye").await;
    store.add_reaction(m.id, owner.id, "👋", at(1)).await.unwrap();
    store.edit_message(m.id, "bye!", false, Some(owner.id), at(2)).await.unwrap();
    let category = store
        .create_channel(&Channel::new(ChannelId::new(), server.id, "cat", ChannelKind::Category))
        .await
        .unwrap();
    let mut child = Channel::new(ChannelId::new(), server.id, "child", ChannelKind::Text);
    child.parent_id = Some(category.id);
    store.create_channel(&child).await.unwrap();
    assert!(store.delete_channel(general.id).await.unwrap());
    assert!(!store.delete_channel(general.id).await.unwrap());
    assert_eq!(store.message(m.id, None).await.unwrap(), None);
    assert!(store.message_history(m.id).await.unwrap().is_empty());
    // Deleting a category leaves its children, uncategorised.
    assert!(store.delete_channel(category.id).await.unwrap());
    assert_eq!(store.channel(child.id).await.unwrap().unwrap().parent_id, None);
    let _ = UserId::new();
}
