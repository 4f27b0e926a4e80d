//! The signed-in accounts and their tokens, shared by the team and sealed; the refresh lock
//! that lets one instance of the team refresh at a time, with a fencing check before the
//! refreshed tokens are written back.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use byok_auth::{Account, AuthError, RefreshLock, TokenStore};
use byok_types::OAuthToken;
use serde::{Deserialize, Serialize};

use crate::{RedisState, StateError};

/// How long the refresh lock holds when its holder vanishes (a crash mid-refresh): longer than
/// a refresh takes (one request to the issuer), short enough that the team does not wait long.
const LOCK_TTL: Duration = Duration::from_secs(30);
/// How long an instance waits for the lock, another instance's refresh or Redis's return,
/// before the request that needs a refresh fails: rather than refreshing without the lock and
/// rotating the refresh token twice.
const LOCK_WAIT: Duration = Duration::from_secs(30);
/// How often the lock is asked for again while another instance holds it.
const LOCK_POLL: Duration = Duration::from_millis(25);

/// Takes the lock for the fencing token `ARGV[1]` for `ARGV[2]` ms: free, or already held by
/// that token (an earlier try whose answer was lost: Redis frozen or killed after running it),
/// which is then this holder's. `SET NX` alone would leave such a try holding the lock for
/// no one until it expires.
const TAKE: &str = "local held = redis.call('GET', KEYS[1]) \
    if held == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end \
    if held then return 0 end \
    redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1";
/// Releases the lock only if this holder still holds it (it may have expired and passed on).
const RELEASE: &str = "if redis.call('GET', KEYS[1]) == ARGV[1] then \
    return redis.call('DEL', KEYS[1]) end return 0";
/// Writes the accounts only if the writer still holds the refresh lock: the fencing check, so
/// an instance whose lock expired mid-refresh cannot overwrite newer tokens with older ones.
const FENCED_SET: &str = "if redis.call('GET', KEYS[1]) == ARGV[1] then \
    redis.call('SET', KEYS[2], ARGV[2]) return 1 end return 0";

/// [`TokenStore`] in Redis: every signed-in account of the team, sealed at `byok:accounts`,
/// and the refresh lock at `byok:refresh-lock` (`SET NX PX` with a random fencing token).
///
/// While Redis is gone, [`load`](TokenStore::load) answers the accounts as last read, so the
/// tokens held keep serving until they expire; a refresh waits for Redis (and the lock) to
/// come back rather than risk a second rotation.
///
/// **When Redis comes back without the accounts.** Redis's own persistence is what keeps the
/// team's data across a restart (`appendonly yes`, the README's team set-up). A Redis that
/// comes back empty all the same (no persistence, a failover to an empty replica, a
/// `FLUSHALL`) would sign the whole team out, so each instance re-publishes what it still
/// knows. The rule, applied on every read:
///
/// * the key `byok:accounts` is absent (a logout of the last account writes an empty list, so
///   absence means lost data) while this instance knows accounts, or
/// * this instance knows a *newer* token for an account than Redis holds (a later expiry: a
///   refresh whose fenced write-back found its lock gone with the restart),
///
/// then it takes the refresh lock (once, without waiting: the next read tries again), reads
/// again, merges (each account keeps the newest token of the two; accounts Redis lacks are
/// added only when the whole key was lost, so a logout elsewhere stays a logout) and writes the
/// merge, fenced. The first instance to notice publishes; the others then find it published,
/// and add only tokens newer than it. Stored responses and account rests are not re-published:
/// they are lost with Redis's data (a client sees a 404 for an old `previous_response_id`), and
/// a key's budget counts the most any instance saw today.
#[derive(Clone, Debug)]
pub struct RedisTokenStore {
    state: RedisState,
    /// The accounts as last read or written.
    cached: Arc<Mutex<Option<Vec<Account>>>>,
    /// The fencing token of the refresh lock while this instance holds it.
    held: Arc<Mutex<Option<String>>>,
}

/// The sealed value: the accounts, the active one first.
#[derive(Serialize, Deserialize)]
struct Stored {
    accounts: Vec<StoredAccount>,
}

#[derive(Serialize, Deserialize)]
struct StoredAccount {
    name: String,
    token: OAuthToken,
}

impl RedisTokenStore {
    /// The team's accounts in `state`.
    pub fn new(state: RedisState) -> Self {
        Self {
            state,
            cached: Arc::default(),
            held: Arc::default(),
        }
    }

    /// Shares `local` (this instance's own sign-ins, from `credentials.json`) with the team:
    /// the accounts the team does not have yet are added; those it has keep the team's tokens,
    /// which may be newer. Returns how many were added.
    pub async fn adopt(&self, local: &[Account]) -> Result<usize, AuthError> {
        if local.is_empty() {
            return Ok(0);
        }
        let _lock = self.lock_refresh().await?;
        let mut accounts = self.read().await?;
        let mut added = 0;
        for account in local {
            if !accounts.iter().any(|a| a.name == account.name) {
                accounts.push(account.clone());
                added += 1;
            }
        }
        if added > 0 {
            self.write(&accounts).await?;
        }
        Ok(added)
    }

    fn at(&self) -> String {
        self.state.key(&["accounts"])
    }

    fn lock_at(&self) -> String {
        self.state.key(&["refresh-lock"])
    }

    fn failed(&self, detail: impl std::fmt::Display) -> AuthError {
        AuthError::SharedStore {
            at: self.state.describe_at(),
            detail: detail.to_string(),
        }
    }

    /// The accounts in Redis now: `None` when the key is absent (Redis lost its data, or no
    /// instance of the team ever signed in).
    async fn fetch(&self) -> Result<Option<Vec<Account>>, AuthError> {
        let at = self.at();
        let sealed: Option<Vec<u8>> = self
            .state
            .run(redis::cmd("GET").arg(&at))
            .await
            .map_err(|e| self.failed(e))?;
        let Some(sealed) = sealed else {
            return Ok(None);
        };
        let json = self
            .state
            .seal
            .open(&at, &sealed)
            .map_err(|e| self.failed(e))?;
        let stored: Stored = serde_json::from_slice(&json)
            .map_err(|e| self.failed(StateError::Redis(format!("bad accounts: {e}"))))?;
        Ok(Some(
            stored
                .accounts
                .into_iter()
                .map(|a| Account {
                    name: a.name,
                    token: a.token,
                })
                .collect(),
        ))
    }

    /// The accounts in Redis now (not the cache), re-published first when Redis lost what this
    /// instance knows (the rule on [`RedisTokenStore`]).
    async fn read(&self) -> Result<Vec<Account>, AuthError> {
        let remote = self.fetch().await?;
        let known = self
            .cached
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .unwrap_or_default();
        let accounts = match merged(remote.as_deref(), &known) {
            Some(_) => self.republish(&known).await?,
            None => remote.unwrap_or_default(),
        };
        *self.cached.lock().unwrap_or_else(PoisonError::into_inner) = Some(accounts.clone());
        Ok(accounts)
    }

    /// Publishes what this instance knows, merged with Redis's, under the refresh lock taken
    /// once without waiting. Returns the accounts as they are now: the merge written, or (lock
    /// held elsewhere, or by this instance mid-refresh) this instance's, until a later read.
    async fn republish(&self, known: &[Account]) -> Result<Vec<Account>, AuthError> {
        if self
            .held
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some()
        {
            return Ok(known.to_vec());
        }
        let Some(_lock) = self.try_lock().await? else {
            return Ok(known.to_vec());
        };
        let remote = self.fetch().await?;
        let Some(accounts) = merged(remote.as_deref(), known) else {
            // Another instance published meanwhile, with all this one knows.
            return Ok(remote.unwrap_or_default());
        };
        self.write(&accounts).await?;
        tracing::warn!(
            accounts = accounts.len(),
            "Redis had lost the team's accounts or their newest tokens (restarted without \
             persistence?): this instance published what it knew"
        );
        Ok(accounts)
    }

    /// Writes `accounts`: fenced by the refresh lock while this instance holds it.
    async fn write(&self, accounts: &[Account]) -> Result<(), AuthError> {
        let at = self.at();
        let stored = Stored {
            accounts: accounts
                .iter()
                .map(|a| StoredAccount {
                    name: a.name.clone(),
                    token: a.token.clone(),
                })
                .collect(),
        };
        let json = serde_json::to_vec(&stored).map_err(|e| self.failed(e))?;
        let sealed = self.state.seal.seal(&at, &json);
        let fence = self
            .held
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        match fence {
            Some(token) => {
                let written: i64 = self
                    .state
                    .run(
                        redis::cmd("EVAL")
                            .arg(FENCED_SET)
                            .arg(2)
                            .arg(self.lock_at())
                            .arg(&at)
                            .arg(token)
                            .arg(sealed),
                    )
                    .await
                    .map_err(|e| self.failed(e))?;
                if written != 1 {
                    // The lock expired (or went with a restarted Redis) before the tokens
                    // were written. They are not written over whatever Redis holds now, but
                    // they are not dropped either: the issuer rotated the refresh token for
                    // them, so they are kept here and a later read publishes them if they are
                    // still the newest (the rule on `RedisTokenStore`).
                    tracing::warn!(
                        "the refresh lock was gone before the refreshed tokens were written; \
                         they are kept by this instance and published once the lock is free"
                    );
                }
            }
            None => {
                self.state
                    .run::<()>(redis::cmd("SET").arg(&at).arg(sealed))
                    .await
                    .map_err(|e| self.failed(e))?;
            }
        }
        *self.cached.lock().unwrap_or_else(PoisonError::into_inner) = Some(accounts.to_vec());
        Ok(())
    }
}

/// Holds the refresh lock; releases it (if still held) when dropped.
struct LockGuard {
    state: RedisState,
    at: String,
    token: String,
    held: Arc<Mutex<Option<String>>>,
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        self.held
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let (state, at, token) = (self.state.clone(), self.at.clone(), self.token.clone());
        // Released at once in the background; if Redis is gone, the lock expires by itself.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let _: redis::RedisResult<i64> = state
                    .run(redis::cmd("EVAL").arg(RELEASE).arg(1).arg(&at).arg(&token))
                    .await;
            });
        }
    }
}

#[async_trait::async_trait]
impl TokenStore for RedisTokenStore {
    async fn load(&self) -> Result<Vec<Account>, AuthError> {
        match self.read().await {
            Ok(accounts) => Ok(accounts),
            Err(err) => {
                // Redis gone: the accounts as last read serve until their tokens expire.
                let cached = self
                    .cached
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .clone();
                cached.ok_or(err)
            }
        }
    }

    async fn save(&self, account: &Account) -> Result<(), AuthError> {
        let saved = async {
            let mut accounts = self.read().await?;
            with(&mut accounts, account);
            self.write(&accounts).await
        }
        .await;
        let Err(err) = saved else {
            return Ok(());
        };
        // Redis went between the refresh and its write-back: the issuer has rotated the
        // refresh token, so these tokens are the only good ones. Kept here, they serve this
        // instance and a later read publishes them (they are newer than Redis's).
        let mut cached = self.cached.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(accounts) = cached.as_mut() else {
            return Err(err);
        };
        with(accounts, account);
        tracing::warn!(error = %err, "the refreshed tokens could not be written to Redis; kept by this instance until they can be");
        Ok(())
    }

    async fn remove(&self, name: &str) -> Result<bool, AuthError> {
        let mut accounts = self.read().await?;
        let before = accounts.len();
        accounts.retain(|a| a.name != name);
        if accounts.len() == before {
            return Ok(false);
        }
        self.write(&accounts).await?;
        Ok(true)
    }

    async fn set_active(&self, name: &str) -> Result<(), AuthError> {
        let mut accounts = self.read().await?;
        let Some(at) = accounts.iter().position(|a| a.name == name) else {
            return Err(AuthError::UnknownAccount {
                account: name.to_owned(),
                store: self.describe(),
            });
        };
        let active = accounts.remove(at);
        accounts.insert(0, active);
        self.write(&accounts).await
    }

    fn describe(&self) -> String {
        format!("the team's accounts in {}", self.state.describe_at())
    }

    async fn lock_refresh(&self) -> Result<Option<RefreshLock>, AuthError> {
        let deadline = Instant::now() + LOCK_WAIT;
        // One fencing token for every try: a try Redis ran but could not answer is ours.
        let token = uuid::Uuid::new_v4().to_string();
        loop {
            match self.take_lock(&token).await {
                Ok(Some(guard)) => return Ok(Some(RefreshLock::held_by(guard))),
                // Another instance refreshes: its tokens will be in the store when it is done.
                Ok(None) => tokio::time::sleep(LOCK_POLL).await,
                // Redis is gone: wait for it rather than refresh unlocked.
                Err(e) => {
                    if Instant::now() >= deadline {
                        self.forget_lock(token);
                        return Err(self.failed(format!(
                            "cannot take the refresh lock ({e}); the refresh waits for Redis"
                        )));
                    }
                    tokio::time::sleep(LOCK_POLL * 8).await;
                }
            }
            if Instant::now() >= deadline {
                return Err(
                    self.failed("another instance held the refresh lock for 30 s; try again")
                );
            }
        }
    }
}

impl RedisTokenStore {
    /// One try at the refresh lock for the fencing token `token` ([`TAKE`]): held, or `None`
    /// while another holds it.
    async fn take_lock(&self, token: &str) -> redis::RedisResult<Option<LockGuard>> {
        let at = self.lock_at();
        let ttl = u64::try_from(LOCK_TTL.as_millis()).unwrap_or(u64::MAX);
        let answer: i64 = self
            .state
            .run(
                redis::cmd("EVAL")
                    .arg(TAKE)
                    .arg(1)
                    .arg(&at)
                    .arg(token)
                    .arg(ttl),
            )
            .await?;
        if answer != 1 {
            return Ok(None);
        }
        *self.held.lock().unwrap_or_else(PoisonError::into_inner) = Some(token.to_owned());
        Ok(Some(LockGuard {
            state: self.state.clone(),
            at,
            token: token.to_owned(),
            held: Arc::clone(&self.held),
        }))
    }

    /// Releases, in the background, a lock that a try with `token` may have taken unanswered
    /// (sent after it on the same connection, so it runs after it): no instance then waits
    /// for a lock that no one holds.
    fn forget_lock(&self, token: String) {
        let (state, at) = (self.state.clone(), self.lock_at());
        tokio::spawn(async move {
            let _: redis::RedisResult<i64> = state
                .run(redis::cmd("EVAL").arg(RELEASE).arg(1).arg(&at).arg(&token))
                .await;
        });
    }

    /// One try at the refresh lock, a failure to reach Redis as an error of the store.
    async fn try_lock(&self) -> Result<Option<LockGuard>, AuthError> {
        let token = uuid::Uuid::new_v4().to_string();
        self.take_lock(&token).await.map_err(|e| {
            self.forget_lock(token);
            self.failed(e)
        })
    }
}

/// `accounts` with `account`'s tokens: replaced, or added.
fn with(accounts: &mut Vec<Account>, account: &Account) {
    match accounts.iter_mut().find(|a| a.name == account.name) {
        Some(kept) => kept.token = account.token.clone(),
        None => accounts.push(account.clone()),
    }
}

/// What this instance should publish, when Redis lacks what it knows (the rule on
/// [`RedisTokenStore`]): `remote` with each account's newest token, and every known account
/// when `remote` is absent; `None` when Redis already holds all of it.
fn merged(remote: Option<&[Account]>, known: &[Account]) -> Option<Vec<Account>> {
    let Some(remote) = remote else {
        return (!known.is_empty()).then(|| known.to_vec());
    };
    let mut accounts = remote.to_vec();
    let mut changed = false;
    for account in &mut accounts {
        if let Some(mine) = known.iter().find(|k| k.name == account.name)
            && newer(&mine.token, &account.token)
        {
            account.token = mine.token.clone();
            changed = true;
        }
    }
    changed.then_some(accounts)
}

/// Whether `a` was obtained after `b`: a refresh gives a later expiry (or, without one, a
/// later refresh time).
fn newer(a: &OAuthToken, b: &OAuthToken) -> bool {
    (a.expires_at, a.last_refresh) > (b.expires_at, b.last_refresh)
}
