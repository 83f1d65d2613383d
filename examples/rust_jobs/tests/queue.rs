//! MemoryQueue: at-least-once delivery, ack wait, redelivery, dead letters,
//! lane isolation. Time is a manual clock.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use ggen_jobs::clock::ManualClock;
use ggen_jobs::queue::{JobId, JobQueue, MAX_DELIVERIES};
use ggen_jobs::queue::{MemoryQueue, QueueError, QueueStats};

const ACK_WAIT: Duration = Duration::from_secs(35);

fn queue() -> (MemoryQueue, Arc<ManualClock>) {
    let clock = ManualClock::new();
    let queue = MemoryQueue::with_clock(clock.clone()).with_ack_wait(ACK_WAIT);
    (queue, clock)
}

async fn stats(queue: &MemoryQueue) -> QueueStats {
    queue.stats().await.expect("memory stats")
}

#[tokio::test]
async fn publish_pull_ack() {
    let (queue, _clock) = queue();
    let first = queue
        .publish("high", "email", json!({"n": 1}))
        .await
        .unwrap();
    let second = queue
        .publish("high", "email", json!({"n": 2}))
        .await
        .unwrap();
    assert_ne!(first, second);
    let jobs = queue.pull("high", "email", 10).await.unwrap();
    assert_eq!(jobs.len(), 2);
    assert_eq!(jobs[0].id, first, "oldest first");
    assert_eq!(jobs[0].payload, json!({"n": 1}));
    assert_eq!(
        (jobs[0].priority.as_str(), jobs[0].domain.as_str()),
        ("high", "email")
    );
    assert_eq!(jobs[0].delivery, 1);
    assert_eq!(
        stats(&queue).await,
        QueueStats {
            pending: 0,
            in_flight: 2,
            acked: 0,
            dead: 0
        }
    );
    queue.ack(first).await.unwrap();
    queue.ack(second).await.unwrap();
    assert_eq!(
        stats(&queue).await,
        QueueStats {
            pending: 0,
            in_flight: 0,
            acked: 2,
            dead: 0
        }
    );
    assert!(matches!(queue.ack(first).await, Err(QueueError::UnknownJob(id)) if id == first));
}

#[tokio::test]
async fn pull_takes_at_most_n() {
    let (queue, _clock) = queue();
    for n in 0..5 {
        queue.publish("p", "d", json!(n)).await.unwrap();
    }
    assert_eq!(queue.pull("p", "d", 2).await.unwrap().len(), 2);
    assert_eq!(queue.pull("p", "d", 2).await.unwrap().len(), 2);
    assert_eq!(queue.pull("p", "d", 2).await.unwrap().len(), 1);
    assert!(queue.pull("p", "d", 2).await.unwrap().is_empty());
}

#[tokio::test]
async fn lanes_are_isolated() {
    let (queue, _clock) = queue();
    queue.publish("high", "email", json!("e")).await.unwrap();
    queue.publish("low", "reports", json!("r")).await.unwrap();
    assert!(queue.pull("high", "reports", 10).await.unwrap().is_empty());
    assert!(queue.pull("unknown", "lane", 10).await.unwrap().is_empty());
    let email = queue.pull("high", "email", 10).await.unwrap();
    assert_eq!(email.len(), 1);
    assert_eq!(email[0].payload, json!("e"));
    let reports = queue.pull("low", "reports", 10).await.unwrap();
    assert_eq!(reports[0].payload, json!("r"));
}

#[tokio::test]
async fn an_unacked_job_is_delivered_again_after_the_ack_wait() {
    let (queue, clock) = queue();
    let id = queue.publish("p", "d", json!({})).await.unwrap();
    assert_eq!(queue.pull("p", "d", 1).await.unwrap()[0].delivery, 1);
    clock.advance(ACK_WAIT - Duration::from_millis(1));
    assert!(queue.pull("p", "d", 1).await.unwrap().is_empty());
    assert_eq!(stats(&queue).await.in_flight, 1);
    clock.advance(Duration::from_millis(1));
    assert_eq!(stats(&queue).await.pending, 1);
    let again = queue.pull("p", "d", 1).await.unwrap();
    assert_eq!(again[0].id, id);
    assert_eq!(again[0].delivery, 2);
}

#[tokio::test]
async fn a_nacked_job_is_delivered_again_at_once() {
    let (queue, _clock) = queue();
    let id = queue.publish("p", "d", json!({})).await.unwrap();
    queue.pull("p", "d", 1).await.unwrap();
    queue.nack(id).await.unwrap();
    let again = queue.pull("p", "d", 1).await.unwrap();
    assert_eq!((again[0].id, again[0].delivery), (id, 2));
}

#[tokio::test]
async fn a_job_is_dead_lettered_after_its_last_delivery_fails() {
    let (queue, clock) = queue();
    let id = queue
        .publish("p", "d", json!({"action": "fail"}))
        .await
        .unwrap();
    let mut deliveries = 0;
    for round in 0.. {
        let jobs = queue.pull("p", "d", 1).await.unwrap();
        let Some(job) = jobs.first() else { break };
        deliveries += 1;
        // Alternate the two ways a delivery fails: nack and ack-wait expiry.
        if round % 2 == 0 {
            queue.nack(job.id).await.unwrap();
        } else {
            clock.advance(ACK_WAIT);
        }
    }
    assert_eq!(deliveries, MAX_DELIVERIES);
    assert_eq!(
        stats(&queue).await,
        QueueStats {
            pending: 0,
            in_flight: 0,
            acked: 0,
            dead: 1
        }
    );
    let dead = queue.dead_letters();
    assert_eq!(dead.len(), 1);
    assert_eq!((dead[0].id, dead[0].delivery), (id, MAX_DELIVERIES));
    assert!(matches!(
        queue.nack(id).await,
        Err(QueueError::UnknownJob(_))
    ));
}

#[tokio::test]
async fn a_late_ack_still_completes_the_job() {
    let (queue, clock) = queue();
    let id = queue.publish("p", "d", json!({})).await.unwrap();
    queue.pull("p", "d", 1).await.unwrap();
    clock.advance(ACK_WAIT);
    // Expired and pending again, but the worker did finish it.
    queue.ack(id).await.unwrap();
    assert!(queue.pull("p", "d", 1).await.unwrap().is_empty());
    assert_eq!(
        stats(&queue).await,
        QueueStats {
            pending: 0,
            in_flight: 0,
            acked: 1,
            dead: 0
        }
    );
}

#[tokio::test]
async fn lanes_can_have_their_own_ack_wait() {
    let clock = ManualClock::new();
    let queue = MemoryQueue::with_clock(clock.clone())
        .with_ack_wait(Duration::from_secs(60))
        .with_lane_ack_wait("fast", "lane", Duration::from_secs(1));
    queue.publish("fast", "lane", json!(1)).await.unwrap();
    queue.publish("slow", "lane", json!(2)).await.unwrap();
    queue.pull("fast", "lane", 1).await.unwrap();
    queue.pull("slow", "lane", 1).await.unwrap();
    clock.advance(Duration::from_secs(1));
    assert_eq!(queue.pull("fast", "lane", 1).await.unwrap().len(), 1);
    assert!(queue.pull("slow", "lane", 1).await.unwrap().is_empty());
}

#[tokio::test]
async fn no_job_is_lost_whatever_happens_to_its_deliveries() {
    let (queue, clock) = queue();
    let total = 60u64;
    let mut ids: Vec<JobId> = Vec::new();
    for n in 0..total {
        ids.push(queue.publish("p", "d", json!(n)).await.unwrap());
    }
    // Deterministic mix: ack, nack, or abandon each delivery.
    let mut step = 0u64;
    while stats(&queue).await.acked + stats(&queue).await.dead < total {
        for job in queue.pull("p", "d", 7).await.unwrap() {
            step += 1;
            match (job.id.0 + step) % 3 {
                0 => queue.ack(job.id).await.unwrap(),
                1 => queue.nack(job.id).await.unwrap(),
                _ => {}
            }
            assert_eq!(stats(&queue).await.total(), total);
        }
        clock.advance(ACK_WAIT);
        assert_eq!(stats(&queue).await.total(), total);
    }
    let stats = stats(&queue).await;
    assert_eq!(stats.pending + stats.in_flight, 0);
    assert!(stats.acked > 0 && stats.dead > 0);
    assert_eq!(queue.dead_letters().len() as u64, stats.dead);
}
