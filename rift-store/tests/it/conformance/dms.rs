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

// ---- mirrored DMs and group DMs (Store::mirror_dm) ----

fn mirrored(
    remote: &str,
    kind: ChannelKind,
    name: Option<&str>,
    participants: &[UserId],
) -> rift::store::MirroredDm {
    rift::store::MirroredDm {
        new_id: ChannelId::new(),
        bridge: rift::model::BridgeRef::new("discord", remote),
        kind,
        name: name.map(str::to_owned),
        participants: participants.to_vec(),
        at: at(1),
    }
}

fn sorted(mut ids: Vec<UserId>) -> Vec<UserId> {
    ids.sort();
    ids
}

pub(crate) async fn mirror_dm_makes_a_group_dm_and_keeps_it_equal_to_the_remote(store: &dyn Store) {
    let owner = user(store, "owner").await;
    let bob = user(store, "bob").await;
    let carol = user(store, "carol").await;
    let dave = user(store, "dave").await;
    let group = mirrored("900", ChannelKind::GroupDm, Some("trio"), &[owner.id, bob.id, carol.id]);
    let made = store.mirror_dm(&group).await.unwrap();
    assert_eq!((made.id, made.created, made.renamed), (group.new_id, true, false));
    assert_eq!(sorted(made.added.clone()), sorted(vec![owner.id, bob.id, carol.id]));
    assert!(made.removed.is_empty());
    let channel = store.channel(made.id).await.unwrap().unwrap();
    assert_eq!(
        (channel.kind, channel.server_id, channel.bridge.clone()),
        (ChannelKind::Dm, None, bridge("900"))
    );
    let seen = store.dm_channel(made.id, owner.id).await.unwrap().unwrap();
    assert_eq!(
        (seen.kind, seen.name.as_deref(), seen.bridge.clone()),
        (ChannelKind::GroupDm, Some("trio"), bridge("900"))
    );
    let mut others = vec![bob.clone(), carol.clone()];
    others.sort_by_key(|u| u.id);
    assert_eq!(seen.recipients, others, "everyone but the viewer");
    assert_eq!(store.dm_participants(made.id).await.unwrap(), sorted(vec![owner.id, bob.id, carol.id]));

    // The same remote state again changes nothing.
    let again = store
        .mirror_dm(&mirrored("900", ChannelKind::GroupDm, Some("trio"), &[carol.id, owner.id, bob.id]))
        .await
        .unwrap();
    let unchanged = rift::store::MirroredDmOutcome {
        id: made.id,
        created: false,
        added: vec![],
        removed: vec![],
        renamed: false,
    };
    assert_eq!(again, unchanged);

    // Renamed, carol left, dave joined.
    let changed = store
        .mirror_dm(&mirrored("900", ChannelKind::GroupDm, Some("new name"), &[owner.id, bob.id, dave.id]))
        .await
        .unwrap();
    assert_eq!((changed.created, changed.renamed), (false, true));
    assert_eq!((changed.added, changed.removed), (vec![dave.id], vec![carol.id]));
    assert_eq!(store.dm_channel(made.id, carol.id).await.unwrap(), None, "carol is out");
    assert!(store.dm_channels(carol.id).await.unwrap().is_empty());
    let by_dave = store.dm_channel(made.id, dave.id).await.unwrap().unwrap();
    assert_eq!(by_dave.name.as_deref(), Some("new name"));
    // A group DM without a name.
    let unnamed = store
        .mirror_dm(&mirrored("900", ChannelKind::GroupDm, None, &[owner.id, bob.id, dave.id]))
        .await
        .unwrap();
    assert!(unnamed.renamed);
    assert_eq!(store.dm_channel(made.id, owner.id).await.unwrap().unwrap().name, None);
    // Messages there are ordinary messages.
    let m = message(store, made.id, bob.id, "in the group").await;
    assert_eq!(store.dm_channel(made.id, dave.id).await.unwrap().unwrap().last_message_id, Some(m.id));
}

pub(crate) async fn mirror_dm_keeps_one_dm_per_pair(store: &dyn Store) {
    let owner = user(store, "owner").await;
    let bob = user(store, "bob").await;
    let carol = user(store, "carol").await;
    // A native DM with bob is taken over by the remote DM of the same pair.
    let (native, _) = store.open_dm(owner.id, bob.id, ChannelId::new(), at(1)).await.unwrap();
    let taken = store.mirror_dm(&mirrored("901", ChannelKind::Dm, None, &[owner.id, bob.id])).await.unwrap();
    assert_eq!((taken.id, taken.created), (native, false));
    assert!(taken.added.is_empty() && taken.removed.is_empty());
    let seen = store.dm_channel(native, owner.id).await.unwrap().unwrap();
    assert_eq!((seen.kind, seen.name, seen.bridge), (ChannelKind::Dm, None, bridge("901")));
    assert_eq!(store.open_dm(bob.id, owner.id, ChannelId::new(), at(2)).await.unwrap(), (native, false));
    // A remote DM with carol makes the pair's DM; a native open finds it.
    let with_carol = store
        .mirror_dm(&mirrored("902", ChannelKind::Dm, Some("ignored"), &[owner.id, carol.id]))
        .await
        .unwrap();
    assert!(with_carol.created);
    assert_eq!(
        store.open_dm(owner.id, carol.id, ChannelId::new(), at(2)).await.unwrap(),
        (with_carol.id, false)
    );
    assert_eq!(
        store.dm_channel(with_carol.id, carol.id).await.unwrap().unwrap().name,
        None,
        "DMs have no name"
    );
    // Another remote DM of a pair that already has its DM clashes on the pair.
    let second = store.mirror_dm(&mirrored("906", ChannelKind::Dm, None, &[carol.id, owner.id])).await;
    assert!(matches!(second, Err(rift::StoreError::Conflict(rift::Conflict::DmPair))), "{second:?}");
    // Group DMs of the same people never clash with the pair or each other.
    let g1 =
        store.mirror_dm(&mirrored("903", ChannelKind::GroupDm, None, &[owner.id, bob.id])).await.unwrap();
    let g2 =
        store.mirror_dm(&mirrored("904", ChannelKind::GroupDm, None, &[owner.id, bob.id])).await.unwrap();
    assert!(g1.created && g2.created && g1.id != g2.id && g1.id != native);
    let kinds: Vec<ChannelKind> = store.dm_channels(bob.id).await.unwrap().iter().map(|d| d.kind).collect();
    assert_eq!(kinds.iter().filter(|k| **k == ChannelKind::GroupDm).count(), 2, "{kinds:?}");
    assert_eq!(kinds.iter().filter(|k| **k == ChannelKind::Dm).count(), 1, "{kinds:?}");
    // Concurrent mirrors of one remote DM make one channel (the others conflict or find it).
    let dave = user(store, "dave").await;
    let once = || mirrored("905", ChannelKind::GroupDm, Some("race"), &[owner.id, dave.id, carol.id]);
    let (a, b, c) = (once(), once(), once());
    let (r1, r2, r3) = tokio::join!(store.mirror_dm(&a), store.mirror_dm(&b), store.mirror_dm(&c));
    let made: Vec<_> = [r1, r2, r3].into_iter().filter_map(Result::ok).collect();
    assert_eq!(made.iter().filter(|o| o.created).count(), 1, "{made:?}");
    let ids: Vec<ChannelId> = store
        .dm_channels(dave.id)
        .await
        .unwrap()
        .iter()
        .filter(|d| d.bridge == bridge("905"))
        .map(|d| d.id)
        .collect();
    assert_eq!(ids.len(), 1);
}
