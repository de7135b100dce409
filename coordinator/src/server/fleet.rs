//! The agents connected now: account id to the sending half of its stream. One active
//! stream per account; a new connection replaces the old one, whose stream then ends.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::{mpsc, oneshot};
use whittle_proto::agent::v1 as pb;
use whittle_proto::convert::CoordinatorMessage;

/// How many messages may wait for a slow agent before senders wait.
const QUEUE: usize = 64;

/// The sending half of an agent's stream.
pub type Outbound = mpsc::Sender<Result<pb::CoordinatorMessage, tonic::Status>>;

/// The registry of connected agents. Cheap to clone; clones share the registry.
#[derive(Debug, Clone, Default)]
pub struct Fleet {
    links: Arc<Mutex<HashMap<String, Link>>>,
    next_id: Arc<Mutex<u64>>,
}

#[derive(Debug)]
struct Link {
    id: u64,
    tx: Outbound,
    journal_empty: bool,
    /// Dropped when the link is replaced or removed: the stream's reader then stops.
    _replaced: oneshot::Sender<()>,
}

/// A registered stream: its id, the receiving half to serve, and a signal that fires when
/// a newer connection of the same account replaces it.
#[derive(Debug)]
pub struct Registered {
    pub id: u64,
    pub tx: Outbound,
    pub rx: mpsc::Receiver<Result<pb::CoordinatorMessage, tonic::Status>>,
    pub replaced: oneshot::Receiver<()>,
}

impl Fleet {
    /// Registers a new stream for `account_id`, replacing any older one. `first` is queued
    /// on the stream before anyone else can send to it (the Welcome).
    pub fn register(
        &self,
        account_id: &str,
        journal_empty: bool,
        first: CoordinatorMessage,
    ) -> Registered {
        let id = {
            let mut next = lock(&self.next_id);
            *next += 1;
            *next
        };
        let (tx, rx) = mpsc::channel(QUEUE);
        // The channel is new and empty: the first message always fits.
        let _ = tx.try_send(Ok(first.into()));
        let (signal, replaced) = oneshot::channel();
        let link = Link {
            id,
            tx: tx.clone(),
            journal_empty,
            _replaced: signal,
        };
        if lock(&self.links)
            .insert(account_id.to_string(), link)
            .is_some()
        {
            tracing::info!(account_id, "agent stream replaced by a new connection");
        }
        Registered {
            id,
            tx,
            rx,
            replaced,
        }
    }

    /// Removes the stream `id` of `account_id`, unless a newer one replaced it. Returns
    /// whether it was the account's current stream.
    pub fn remove(&self, account_id: &str, id: u64) -> bool {
        let mut links = lock(&self.links);
        if links.get(account_id).is_some_and(|l| l.id == id) {
            links.remove(account_id);
            true
        } else {
            false
        }
    }

    /// Whether the account's agent is connected, and if so whether it said its journal is
    /// empty.
    pub fn journal_empty(&self, account_id: &str) -> Option<bool> {
        lock(&self.links).get(account_id).map(|l| l.journal_empty)
    }

    /// Records that the connected agent's journal holds changes (it reported one).
    pub fn journal_not_empty(&self, account_id: &str) {
        if let Some(link) = lock(&self.links).get_mut(account_id) {
            link.journal_empty = false;
        }
    }

    /// The account's stream, if its agent is connected.
    pub fn sender(&self, account_id: &str) -> Option<Outbound> {
        lock(&self.links).get(account_id).map(|l| l.tx.clone())
    }

    /// Sends to the account's agent; false if it is not connected (or just went away).
    pub async fn send(&self, account_id: &str, message: CoordinatorMessage) -> bool {
        match self.sender(account_id) {
            Some(tx) => tx.send(Ok(message.into())).await.is_ok(),
            None => false,
        }
    }

    /// Sends to every connected agent; returns how many got it.
    pub async fn broadcast(&self, message: CoordinatorMessage) -> usize {
        let senders: Vec<(String, Outbound)> = lock(&self.links)
            .iter()
            .map(|(account, l)| (account.clone(), l.tx.clone()))
            .collect();
        let mut sent = 0;
        for (account_id, tx) in senders {
            if tx.send(Ok(message.clone().into())).await.is_ok() {
                sent += 1;
            } else {
                tracing::warn!(account_id, "agent went away before a broadcast");
            }
        }
        sent
    }

    /// Ends every agent's stream (at shutdown): each reader stops, and the agent reconnects
    /// to the next coordinator.
    pub fn close_all(&self) {
        let closed = std::mem::take(&mut *lock(&self.links));
        tracing::info!(agents = closed.len(), "agent streams closed");
    }

    /// How many agents are connected.
    pub fn len(&self) -> usize {
        lock(&self.links).len()
    }

    /// Whether no agent is connected.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The registry's lock. A panic while it was held cannot leave the map half-updated (every
/// update is one map call), so a poisoned lock is still safe to use.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
