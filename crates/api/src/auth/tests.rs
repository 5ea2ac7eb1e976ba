//! The token cache: hits, time to live and eviction of a service account's tokens.

use std::time::Duration;

use chrono::{TimeDelta, Utc};

use credvault_domain::ids::{PrincipalId, ServiceAccountId};
use credvault_domain::principal::{Principal, PrincipalKind};

use crate::auth::TokenCache;

fn service_account_principal(service_account: ServiceAccountId) -> Principal {
    Principal {
        id: PrincipalId::new(),
        kind: PrincipalKind::ServiceAccount,
        service_account: Some(service_account),
    }
}

fn user_principal() -> Principal {
    Principal {
        id: PrincipalId::new(),
        kind: PrincipalKind::User,
        service_account: None,
    }
}

#[test]
fn a_cached_token_is_found_until_forgotten() {
    let cache = TokenCache::new(Duration::from_secs(60));
    let account = ServiceAccountId::new();
    let principal = service_account_principal(account);
    cache.put(
        "hash".to_owned(),
        principal.clone(),
        None,
        cache.generation(),
    );
    assert_eq!(cache.get("hash"), Some(principal));

    cache.forget_service_account(account);
    assert_eq!(cache.get("hash"), None);
}

#[test]
fn forgetting_an_account_keeps_other_principals() {
    let cache = TokenCache::new(Duration::from_secs(60));
    let forgotten = ServiceAccountId::new();
    let other_account = service_account_principal(ServiceAccountId::new());
    let user = user_principal();
    let generation = cache.generation();
    cache.put(
        "forgotten".to_owned(),
        service_account_principal(forgotten),
        None,
        generation,
    );
    cache.put("other".to_owned(), other_account.clone(), None, generation);
    cache.put("user".to_owned(), user.clone(), None, generation);

    cache.forget_service_account(forgotten);
    assert_eq!(cache.get("forgotten"), None);
    assert_eq!(cache.get("other"), Some(other_account));
    assert_eq!(cache.get("user"), Some(user));
}

#[test]
fn an_answer_read_before_an_eviction_is_not_cached() {
    let cache = TokenCache::new(Duration::from_secs(60));
    let account = ServiceAccountId::new();
    // A lookup notes the generation, the account is deleted meanwhile, then the lookup's
    // (now stale) answer arrives.
    let generation = cache.generation();
    cache.forget_service_account(account);
    cache.put(
        "stale".to_owned(),
        service_account_principal(account),
        None,
        generation,
    );
    assert_eq!(cache.get("stale"), None);
}

#[test]
fn a_zero_time_to_live_disables_the_cache() {
    let cache = TokenCache::new(Duration::ZERO);
    cache.put(
        "hash".to_owned(),
        user_principal(),
        None,
        cache.generation(),
    );
    assert_eq!(cache.get("hash"), None);
}

#[test]
fn an_entry_does_not_outlive_its_token() {
    let cache = TokenCache::new(Duration::from_secs(30));
    let expires_at = Utc::now() + TimeDelta::milliseconds(300);
    cache.put(
        "soon".to_owned(),
        user_principal(),
        Some(expires_at),
        cache.generation(),
    );
    assert!(cache.get("soon").is_some());
    while Utc::now() <= expires_at {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(cache.get("soon"), None);
}

#[test]
fn an_expired_token_is_not_cached() {
    let cache = TokenCache::new(Duration::from_secs(30));
    let expired = Utc::now() - TimeDelta::seconds(1);
    cache.put(
        "expired".to_owned(),
        user_principal(),
        Some(expired),
        cache.generation(),
    );
    assert_eq!(cache.get("expired"), None);
}

#[test]
fn the_time_to_live_is_capped() {
    assert_eq!(
        TokenCache::new(Duration::from_secs(3600)).ttl,
        crate::auth::MAX_TOKEN_CACHE_TTL
    );
    assert_eq!(
        TokenCache::new(Duration::from_secs(5)).ttl,
        Duration::from_secs(5)
    );
}
