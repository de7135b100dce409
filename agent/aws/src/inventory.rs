//! Reading roles and their policies through [`Iam`], into the algebra's types.
//!
//! [`read_role`] reads one role with its inline policies and attached managed
//! policies (each with its default version's document); [`read_account`] reads
//! every role and every managed policy they use, a few calls at a time.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};

use whittle_policy::exports::AccountExport;
use whittle_policy::{ManagedPolicy, Role};

use crate::api::Iam;
use crate::error::{AwsError, ErrorKind};
use crate::ops;

/// How many roles or policies [`read_account`] reads at once. IAM's request
/// quotas are account-wide and shared with everything else in the account, so
/// this stays small; the retry layer absorbs occasional throttling.
pub const READ_CONCURRENCY: usize = 4;

// `limited` runs exactly this many workers.
const _: () = assert!(READ_CONCURRENCY == 4);

/// A policy that changed while it was read is read again at most this often.
const REREADS: usize = 2;

/// One role with its inline policies and attachments, and its attached managed
/// policies by ARN with their default documents.
pub async fn read_role(
    iam: &dyn Iam,
    role_name: &str,
) -> Result<(Role, BTreeMap<String, ManagedPolicy>), AwsError> {
    let role = read_role_policies(iam, role_name).await?;
    let mut managed = BTreeMap::new();
    for arn in &role.attached_policies {
        managed.insert(arn.clone(), read_managed_policy(iam, arn).await?);
    }
    Ok((role, managed))
}

/// One role with its inline policies and the ARNs of its attached policies.
pub async fn read_role_policies(iam: &dyn Iam, role_name: &str) -> Result<Role, AwsError> {
    let info = iam.get_role(role_name).await?;
    let mut inline = BTreeMap::new();
    for name in iam.list_role_policies(role_name).await? {
        let document = iam.get_role_policy(role_name, &name).await?;
        inline.insert(name, document);
    }
    let attached = iam.list_attached_role_policies(role_name).await?;
    Ok(info.into_role(inline, attached))
}

/// A managed policy with its default version's document. If the default
/// version changes (and the old one is deleted) while it is read, it is read again.
pub async fn read_managed_policy(
    iam: &dyn Iam,
    policy_arn: &str,
) -> Result<ManagedPolicy, AwsError> {
    let mut rereads = 0;
    loop {
        let info = iam.get_policy(policy_arn).await?;
        match iam
            .get_policy_version(policy_arn, &info.default_version_id)
            .await
        {
            Ok(document) => return Ok(info.into_managed(document)),
            Err(err) if err.kind == ErrorKind::NotFound && rereads < REREADS => rereads += 1,
            Err(err) => return Err(err),
        }
    }
}

/// Every role of the account with its policies, and every managed policy the
/// roles have attached. A role deleted while the account is read is left out.
pub async fn read_account(iam: &dyn Iam) -> Result<AccountExport, AwsError> {
    let names: Vec<String> = iam
        .list_roles()
        .await?
        .into_iter()
        .map(|r| r.name)
        .collect();
    let roles: Vec<Role> = limited(
        names,
        |name| async move { read_role_tolerant(iam, &name).await },
    )
    .await?
    .into_iter()
    .flatten()
    .collect();
    let arns: BTreeSet<String> = roles
        .iter()
        .flat_map(|r| r.attached_policies.iter().cloned())
        .collect();
    let policies = limited(arns.into_iter().collect(), |arn| async move {
        read_managed_policy(iam, &arn).await
    })
    .await?;
    Ok(AccountExport {
        roles,
        managed_policies: policies.into_iter().map(|p| (p.arn.clone(), p)).collect(),
    })
}

/// Reads a role, again if one of its inline policies vanished meanwhile;
/// `None` if the role itself is gone.
async fn read_role_tolerant(iam: &dyn Iam, role_name: &str) -> Result<Option<Role>, AwsError> {
    let mut rereads = 0;
    loop {
        match read_role_policies(iam, role_name).await {
            Ok(role) => return Ok(Some(role)),
            Err(err) if err.kind == ErrorKind::NotFound && err.operation == ops::GET_ROLE => {
                tracing::info!(
                    role_name,
                    "role deleted while the account was read, left out"
                );
                return Ok(None);
            }
            Err(err) if err.kind == ErrorKind::NotFound && rereads < REREADS => rereads += 1,
            Err(err) => return Err(err),
        }
    }
}

/// Runs `f` on every item, [`READ_CONCURRENCY`] at a time, keeping the order of
/// the items. Stops starting new items after the first error, and returns it.
async fn limited<T, R, F, Fut>(items: Vec<T>, f: F) -> Result<Vec<R>, AwsError>
where
    F: Fn(T) -> Fut,
    Fut: Future<Output = Result<R, AwsError>>,
{
    let total = items.len();
    let queue = Mutex::new(items.into_iter().enumerate());
    let failed = AtomicBool::new(false);
    let worker = || async {
        let mut done = Vec::new();
        while !failed.load(Ordering::Relaxed) {
            // The lock is released before the await below.
            let next = queue.lock().unwrap_or_else(PoisonError::into_inner).next();
            let Some((index, item)) = next else { break };
            match f(item).await {
                Ok(result) => done.push((index, result)),
                Err(err) => {
                    failed.store(true, Ordering::Relaxed);
                    return Err(err);
                }
            }
        }
        Ok(done)
    };
    // READ_CONCURRENCY workers.
    let (a, b, c, d) = tokio::join!(worker(), worker(), worker(), worker());
    let mut all = Vec::with_capacity(total);
    for part in [a, b, c, d] {
        all.extend(part?);
    }
    all.sort_by_key(|(index, _)| *index);
    Ok(all.into_iter().map(|(_, result)| result).collect())
}

#[cfg(test)]
mod tests;
