//! The request queue: users ask for media, duplicate requests merge, the most wanted comes first.
//!
//! Order: higher priority first, then more requesters, then the older request. The heap is
//! lazy: changing a request pushes a new entry and bumps the request's version, and stale
//! entries are skipped when popped (and swept out when they outnumber live ones).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use crate::text;

/// How urgently a request is wanted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    /// Whenever there is time.
    Low,
    /// The default.
    Normal,
    /// Soon.
    High,
    /// Before anything else.
    Urgent,
}

/// What is being requested.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    /// An item already in the catalogue, by id.
    Media(u32),
    /// Something not in the catalogue, by normalized title; build it with `Target::title`.
    Title(String),
}

impl Target {
    /// A request by title, normalized so `"The Matrix!"` and `"the  matrix"` merge.
    pub fn title(title: &str) -> Target {
        Target::Title(text::normalize(title))
    }
}

/// Identifier the queue gives each request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequestId(pub u64);

/// A request waiting in the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaRequest {
    /// Its identifier.
    pub id: RequestId,
    /// What is wanted.
    pub target: Target,
    /// The highest priority any requester gave.
    pub priority: Priority,
    /// Users who asked for it, first asker first.
    pub requesters: Vec<String>,
    /// Queue clock when it was first asked for; lower is older.
    pub first_seen: u64,
}

impl MediaRequest {
    fn rank(&self) -> Rank {
        (
            self.priority,
            self.requesters.len(),
            Reverse(self.first_seen),
        )
    }
}

type Rank = (Priority, usize, Reverse<u64>);

/// What `submit` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Submitted {
    /// A new request was queued.
    New(RequestId),
    /// Another user already asked for it; this user joined that request.
    Merged(RequestId),
    /// This user already asked for it; at most its priority rose.
    Repeated(RequestId),
}

impl Submitted {
    /// The request the submission ended up in.
    pub fn id(self) -> RequestId {
        match self {
            Submitted::New(id) | Submitted::Merged(id) | Submitted::Repeated(id) => id,
        }
    }
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Entry {
    rank: Rank,
    id: Reverse<RequestId>,
    version: u32,
}

#[derive(Debug)]
struct Slot {
    request: MediaRequest,
    version: u32,
}

impl Slot {
    fn entry(&self) -> Entry {
        Entry {
            rank: self.request.rank(),
            id: Reverse(self.request.id),
            version: self.version,
        }
    }
}

/// Pending media requests, de-duplicated by target and ordered by how wanted they are.
#[derive(Debug, Default)]
pub struct RequestQueue {
    slots: HashMap<RequestId, Slot>,
    by_target: HashMap<Target, RequestId>,
    heap: BinaryHeap<Entry>,
    next_id: u64,
    clock: u64,
}

impl RequestQueue {
    /// An empty queue.
    pub fn new() -> RequestQueue {
        RequestQueue::default()
    }

    /// Records that `user` wants `target`, merging with any pending request for it.
    pub fn submit(&mut self, user: &str, target: Target, priority: Priority) -> Submitted {
        self.clock += 1;
        if let Some(slot) = self
            .by_target
            .get(&target)
            .and_then(|id| self.slots.get_mut(id))
        {
            let id = slot.request.id;
            let repeated = slot.request.requesters.iter().any(|u| u == user);
            let raised = priority > slot.request.priority;
            if repeated && !raised {
                return Submitted::Repeated(id);
            }
            if !repeated {
                slot.request.requesters.push(user.to_owned());
            }
            slot.request.priority = slot.request.priority.max(priority);
            slot.version += 1;
            let entry = slot.entry();
            self.heap.push(entry);
            self.sweep_if_stale();
            return if repeated {
                Submitted::Repeated(id)
            } else {
                Submitted::Merged(id)
            };
        }
        let id = RequestId(self.next_id);
        self.next_id += 1;
        let slot = Slot {
            request: MediaRequest {
                id,
                target: target.clone(),
                priority,
                requesters: vec![user.to_owned()],
                first_seen: self.clock,
            },
            version: 0,
        };
        self.heap.push(slot.entry());
        self.slots.insert(id, slot);
        self.by_target.insert(target, id);
        Submitted::New(id)
    }

    /// Withdraws `user` from request `id`; the request goes when its last requester does.
    /// Returns whether `user` was a requester.
    pub fn cancel(&mut self, id: RequestId, user: &str) -> bool {
        let Some(slot) = self.slots.get_mut(&id) else {
            return false;
        };
        let Some(at) = slot.request.requesters.iter().position(|u| u == user) else {
            return false;
        };
        slot.request.requesters.remove(at);
        if slot.request.requesters.is_empty() {
            let target = slot.request.target.clone();
            self.slots.remove(&id);
            self.by_target.remove(&target);
        } else {
            slot.version += 1;
            let entry = slot.entry();
            self.heap.push(entry);
        }
        self.sweep_if_stale();
        true
    }

    /// Removes and returns the most wanted request.
    pub fn pop(&mut self) -> Option<MediaRequest> {
        while let Some(entry) = self.heap.pop() {
            if self.is_current(&entry) {
                let slot = self.slots.remove(&entry.id.0)?;
                self.by_target.remove(&slot.request.target);
                return Some(slot.request);
            }
        }
        None
    }

    /// The most wanted request, left in the queue.
    pub fn peek(&mut self) -> Option<&MediaRequest> {
        while let Some(top) = self.heap.peek() {
            if self.is_current(top) {
                break;
            }
            self.heap.pop();
        }
        let top = self.heap.peek()?;
        self.slots.get(&top.id.0).map(|s| &s.request)
    }

    /// The pending request with this id.
    pub fn get(&self, id: RequestId) -> Option<&MediaRequest> {
        self.slots.get(&id).map(|s| &s.request)
    }

    /// The pending request for `target`.
    pub fn find(&self, target: &Target) -> Option<&MediaRequest> {
        self.by_target.get(target).and_then(|id| self.get(*id))
    }

    /// Every pending request, most wanted first, without changing the queue.
    pub fn snapshot(&self) -> Vec<&MediaRequest> {
        let mut all: Vec<&MediaRequest> = self.slots.values().map(|s| &s.request).collect();
        all.sort_unstable_by(|a, b| b.rank().cmp(&a.rank()).then(a.id.cmp(&b.id)));
        all
    }

    /// How many requests are pending.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether no request is pending.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    fn is_current(&self, entry: &Entry) -> bool {
        self.slots
            .get(&entry.id.0)
            .is_some_and(|s| s.version == entry.version)
    }

    /// Rebuilds the heap from live requests once stale entries dominate it.
    fn sweep_if_stale(&mut self) {
        if self.heap.len() > 2 * self.slots.len() + 32 {
            self.heap = self.slots.values().map(Slot::entry).collect();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(q: &mut RequestQueue) -> Vec<Target> {
        std::iter::from_fn(|| q.pop()).map(|r| r.target).collect()
    }

    #[test]
    fn duplicate_titles_merge_across_spellings() {
        let mut q = RequestQueue::new();
        let first = q.submit("ann", Target::title("The Matrix"), Priority::Normal);
        let second = q.submit("bob", Target::title("the  MATRIX!"), Priority::Low);
        assert!(matches!(first, Submitted::New(_)));
        assert_eq!(second, Submitted::Merged(first.id()));
        assert_eq!(q.len(), 1);
        let r = q.get(first.id()).expect("pending");
        assert_eq!(r.requesters, ["ann", "bob"]);
        assert_eq!(
            r.priority,
            Priority::Normal,
            "the highest priority given wins"
        );
    }

    #[test]
    fn asking_twice_does_not_add_a_vote() {
        let mut q = RequestQueue::new();
        let id = q.submit("ann", Target::Media(1), Priority::Low).id();
        assert_eq!(
            q.submit("ann", Target::Media(1), Priority::Low),
            Submitted::Repeated(id)
        );
        assert_eq!(
            q.submit("ann", Target::Media(1), Priority::High),
            Submitted::Repeated(id)
        );
        let r = q.get(id).expect("pending");
        assert_eq!(r.requesters.len(), 1);
        assert_eq!(r.priority, Priority::High);
    }

    #[test]
    fn priority_then_votes_then_age_decide_the_order() {
        let mut q = RequestQueue::new();
        q.submit("ann", Target::Media(1), Priority::Normal);
        q.submit("ann", Target::Media(2), Priority::Normal);
        q.submit("bob", Target::Media(2), Priority::Normal);
        q.submit("ann", Target::Media(3), Priority::Urgent);
        q.submit("ann", Target::Media(4), Priority::Normal);
        q.submit("ann", Target::Media(5), Priority::Low);
        q.submit("bob", Target::Media(5), Priority::High);
        let expected = [3, 5, 2, 1, 4].map(Target::Media);
        let snapshot: Vec<Target> = q.snapshot().iter().map(|r| r.target.clone()).collect();
        assert_eq!(snapshot, expected);
        assert_eq!(drain(&mut q), expected);
        assert!(q.is_empty());
        assert_eq!(q.pop(), None);
    }

    #[test]
    fn cancelling_removes_votes_then_the_request() {
        let mut q = RequestQueue::new();
        let popular = q.submit("ann", Target::Media(1), Priority::Normal).id();
        q.submit("bob", Target::Media(1), Priority::Normal);
        let other = q.submit("cat", Target::Media(2), Priority::Normal).id();
        assert_eq!(q.peek().map(|r| r.id), Some(popular));
        assert!(q.cancel(popular, "bob"));
        assert!(!q.cancel(popular, "bob"), "bob already left");
        // One vote each now: the older request still leads.
        assert_eq!(q.peek().map(|r| r.id), Some(popular));
        assert!(q.cancel(popular, "ann"));
        assert_eq!(q.get(popular), None);
        assert_eq!(q.find(&Target::Media(1)), None);
        assert_eq!(q.peek().map(|r| r.id), Some(other));
        // The target can be requested afresh.
        assert!(matches!(
            q.submit("ann", Target::Media(1), Priority::Low),
            Submitted::New(_)
        ));
    }

    #[test]
    fn stale_heap_entries_are_swept() {
        let mut q = RequestQueue::new();
        let id = q.submit("u0", Target::Media(7), Priority::Low).id();
        for i in 1..1000 {
            q.submit(&format!("u{i}"), Target::Media(7), Priority::Low);
        }
        assert_eq!(q.get(id).expect("pending").requesters.len(), 1000);
        assert!(
            q.heap.len() <= 2 * q.len() + 33,
            "heap holds {}",
            q.heap.len()
        );
        assert_eq!(q.pop().map(|r| r.id), Some(id));
        assert_eq!(q.pop(), None);
    }
}
