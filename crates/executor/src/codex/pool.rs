//! Several signed-in ChatGPT accounts serving in turn, resting those that hit their usage limit.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Round-robin over the signed-in accounts; an account that hit `usage_limit_reached` rests
/// until its reset.
///
/// The account list itself lives in the token store (it can change while byok runs), so the
/// pool only keeps the turn counter and the resting accounts.
#[derive(Debug, Default)]
pub(crate) struct AccountPool {
    next: AtomicUsize,
    /// Account name -> Unix second at which it may serve again.
    resting: Mutex<HashMap<String, i64>>,
}

/// Which accounts may serve one request, in the order to try them.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Turn {
    /// Try these accounts in order (the next in turn first).
    Serve(Vec<String>),
    /// Every account rests; the earliest reset, in Unix seconds.
    AllResting { earliest_reset: i64 },
}

impl AccountPool {
    /// The order in which `accounts` should try a request at time `now`: starting with the next
    /// one in turn, skipping the resting ones.
    pub(crate) fn turn(&self, accounts: &[String], now: i64) -> Turn {
        if accounts.is_empty() {
            return Turn::Serve(Vec::new());
        }
        let start = self.next.fetch_add(1, Ordering::Relaxed) % accounts.len();
        let mut resting = self
            .resting
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        resting.retain(|_, until| *until > now);
        let order: Vec<String> = accounts[start..]
            .iter()
            .chain(&accounts[..start])
            .filter(|a| !resting.contains_key(*a))
            .cloned()
            .collect();
        if order.is_empty() {
            let earliest_reset = accounts
                .iter()
                .filter_map(|a| resting.get(a).copied())
                .min()
                .unwrap_or(now);
            return Turn::AllResting { earliest_reset };
        }
        Turn::Serve(order)
    }

    /// Takes `account` out of turn until the Unix second `until`.
    pub(crate) fn rest(&self, account: &str, until: i64) {
        self.resting
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(account.to_owned(), until);
    }

    /// Until when `account` rests, if it rests at `now`.
    pub(crate) fn resting_until(&self, account: &str, now: i64) -> Option<i64> {
        self.resting
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(account)
            .copied()
            .filter(|until| *until > now)
    }

    /// The earliest reset among the resting accounts, if any rests at `now`.
    pub(crate) fn earliest_reset(&self, now: i64) -> Option<i64> {
        self.resting
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .values()
            .copied()
            .filter(|until| *until > now)
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn accounts_take_turns() {
        let pool = AccountPool::default();
        let accounts = names(&["a", "b", "c"]);
        let firsts: Vec<String> = (0..6)
            .map(|_| match pool.turn(&accounts, 0) {
                Turn::Serve(order) => {
                    assert_eq!(order.len(), 3);
                    order[0].clone()
                }
                Turn::AllResting { .. } => panic!("nobody rests"),
            })
            .collect();
        assert_eq!(firsts, names(&["a", "b", "c", "a", "b", "c"]));
    }

    #[test]
    fn resting_accounts_are_skipped_until_their_reset() {
        let pool = AccountPool::default();
        let accounts = names(&["a", "b"]);
        pool.rest("a", 100);
        assert_eq!(pool.turn(&accounts, 50), Turn::Serve(names(&["b"])));
        assert_eq!(pool.turn(&accounts, 50), Turn::Serve(names(&["b"])));
        pool.rest("b", 80);
        assert_eq!(
            pool.turn(&accounts, 50),
            Turn::AllResting { earliest_reset: 80 }
        );
        assert_eq!(pool.earliest_reset(50), Some(80));
        // After b's reset it serves again; after a's, both do.
        assert_eq!(pool.turn(&accounts, 90), Turn::Serve(names(&["b"])));
        let Turn::Serve(order) = pool.turn(&accounts, 100) else {
            panic!("both serve again");
        };
        assert_eq!(order.len(), 2);
        assert_eq!(pool.earliest_reset(100), None);
    }
}
