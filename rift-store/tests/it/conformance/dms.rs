//! DM channels.

use rift::Store;
use rift::id::{ChannelId, UserId};
use rift::model::ChannelKind;
use rift::store::MessagePage;

use crate::fixtures::*;

pub(crate) async fn open_dm_twice_gives_one_channel(store: &dyn Store) {
    let a = user(store, "a").await;
    let b = user(store, "b").await;
    let first = ChannelId::new();
    assert_eq!(store.open_dm(a.id, b.id, first, at(1)).await.unwrap(), (first, true));
    assert_eq!(store.open_dm(b.id, a.id, ChannelId::new(), at(2)).await.unwrap(), (first, false));
    assert_eq!(store.open_dm(a.id, b.id, ChannelId::new(), at(2)).await.unwrap(), (first, false));
    let channel = store.channel(first).await.unwrap().unwrap();
    assert_eq!((channel.kind, channel.server_id), (ChannelKind::Dm, None));
    let mut expected = vec![a.id, b.id];
    expected.sort();
    assert_eq!(store.dm_participants(first).await.unwrap(), expected);
    assert!(store.dm_participants(ChannelId::new()).await.unwrap().is_empty());
}

pub(crate) async fn concurrent_open_dm_makes_one_channel(store: &dyn Store) {
    let a = user(store, "a").await;
    let b = user(store, "b").await;
    let open = |x: UserId, y: UserId| store.open_dm(x, y, ChannelId::new(), at(1));
    let (r1, r2, r3, r4) =
        tokio::join!(open(a.id, b.id), open(b.id, a.id), open(a.id, b.id), open(b.id, a.id));
    let results = [r1.unwrap(), r2.unwrap(), r3.unwrap(), r4.unwrap()];
    assert_eq!(results.iter().filter(|(_, created)| *created).count(), 1, "{results:?}");
    assert!(results.iter().all(|(id, _)| *id == results[0].0), "{results:?}");
    assert_eq!(store.dm_channels(a.id).await.unwrap().len(), 1);
}

pub(crate) async fn dm_channels_show_the_other_side_newest_activity_first(store: &dyn Store) {
    let me = user(store, "me").await;
    let x = user(store, "x").await;
    let y = user(store, "y").await;
    let (with_x, _) = store.open_dm(me.id, x.id, ChannelId::new(), at(1)).await.unwrap();
    let (with_y, _) = store.open_dm(me.id, y.id, ChannelId::new(), at(2)).await.unwrap();
    // The newer channel comes first until the older one gets a message.
    assert_eq!(
        store.dm_channels(me.id).await.unwrap().iter().map(|d| d.id).collect::<Vec<_>>(),
        [with_y, with_x]
    );
    let m = message(store, with_x, x.id, "hi me").await;
    let dms = store.dm_channels(me.id).await.unwrap();
    assert_eq!(dms.iter().map(|d| d.id).collect::<Vec<_>>(), [with_x, with_y]);
    assert_eq!(dms[0].kind, ChannelKind::Dm);
    assert_eq!(dms[0].recipients, vec![x.clone()]);
    assert_eq!(dms[0].last_message_id, Some(m.id));
    assert_eq!(dms[1].last_message_id, None);
    let seen_by_x = store.dm_channel(with_x, x.id).await.unwrap().unwrap();
    assert_eq!(seen_by_x.recipients, vec![me.clone()]);
    assert_eq!(store.dm_channel(with_x, y.id).await.unwrap(), None, "not a participant");
    assert_eq!(store.dm_channel(ChannelId::new(), me.id).await.unwrap(), None);
    // DM messages are ordinary messages.
    let page =
        store.messages(with_x, MessagePage { before: None, after: None, limit: 10 }, None).await.unwrap();
    assert_eq!(contents(&page), ["hi me"]);
    store.delete_message(m.id, None, at(3), None).await.unwrap();
    assert_eq!(store.dm_channel(with_x, me.id).await.unwrap().unwrap().last_message_id, None);
    assert!(store.dm_channels(UserId::new()).await.unwrap().is_empty());
}
