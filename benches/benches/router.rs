//! Router fan-out: one event published to 1, 100 and 10,000 subscribers of one topic (SPEC §10:
//! well under 1 µs for one; under 2 ms for 10,000). Queues are drained outside the timed section.
//! Events enter through the router's inbox, the same delivery the service's own publishing uses
//! (an envelope built, then offered to each subscriber).

// `criterion_group!` makes a public function we cannot document.
#![allow(missing_docs)]

use std::sync::Arc;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use rift::event::{Envelope, Event, Topic};
use rift::router::Router;
use rift::{ChannelId, MessageId};

fn publish(c: &mut Criterion) {
    let mut group = c.benchmark_group("router_publish");
    for subscribers in [1usize, 100, 10_000] {
        let (router, inbox) = Router::with_inbox();
        let channel = ChannelId::new();
        let mut subs: Vec<_> = (0..subscribers)
            .map(|_| {
                let sub = router.subscribe(1024);
                sub.add(Topic::Channel(channel));
                sub
            })
            .collect();
        let event = Event::MessageDelete { id: MessageId::new(), channel_id: channel, content: None };
        group.bench_with_input(BenchmarkId::from_parameter(subscribers), &subscribers, |b, _| {
            b.iter_custom(|iters| {
                let mut total = std::time::Duration::ZERO;
                let mut done = 0;
                while done < iters {
                    // Publish at most 1000 before draining, so no queue (capacity 1024) overflows.
                    let batch = (iters - done).min(1000);
                    let start = std::time::Instant::now();
                    for _ in 0..batch {
                        inbox.deliver(Arc::new(Envelope::new(Topic::Channel(channel), event.clone())));
                    }
                    total += start.elapsed();
                    for sub in &mut subs {
                        while let Some(delivery) = sub.try_recv() {
                            assert!(delivery.is_ok(), "a subscriber lagged: the bench would measure drops");
                        }
                    }
                    done += batch;
                }
                total
            });
        });
    }
    group.finish();
}

criterion_group!(benches, publish);
criterion_main!(benches);
