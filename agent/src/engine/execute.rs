//! One step of a diff, carried out in IAM, idempotently.
//!
//! Every step can be run again after a crash without harm: deleting what is
//! already gone or detaching what is not attached succeeds, and a managed
//! policy's document is set by making an existing version with that document the
//! default before creating a new one. Reconcile and rollback rely on this.

use whittle_aws::{AwsError, ErrorKind, Iam};
use whittle_policy::diff::{Change, same_document};

/// Carries out `change` on `role_name`; answers the managed policy version it
/// created, if any.
pub(crate) async fn execute(
    iam: &dyn Iam,
    role_name: &str,
    change: &Change,
) -> Result<Option<(String, String)>, AwsError> {
    match change {
        Change::Inline {
            name,
            after: Some(doc),
            ..
        } => {
            iam.put_role_policy(role_name, name, doc).await?;
        }
        Change::Inline {
            name, after: None, ..
        } => {
            ignore_missing(iam.delete_role_policy(role_name, name).await)?;
        }
        Change::Attachment {
            arn, after: true, ..
        } => iam.attach_role_policy(role_name, arn).await?,
        Change::Attachment {
            arn, after: false, ..
        } => {
            ignore_missing(iam.detach_role_policy(role_name, arn).await)?;
        }
        Change::ManagedDocument {
            arn,
            before: None,
            after: Some(doc),
        } => {
            return create_copy(iam, role_name, arn, doc).await;
        }
        Change::ManagedDocument {
            arn,
            after: Some(doc),
            ..
        } => {
            return set_default_document(iam, arn, doc).await;
        }
        Change::ManagedDocument {
            arn, after: None, ..
        } => delete_copy(iam, arn).await?,
    }
    Ok(None)
}

fn ignore_missing(result: Result<(), AwsError>) -> Result<(), AwsError> {
    match result {
        Err(e) if e.kind == ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

/// `arn:aws:iam::123456789012:policy/whittle/name` -> (`/whittle/`, `name`).
fn path_and_name(arn: &str) -> Option<(String, String)> {
    let resource = arn.split_once(":policy")?.1;
    let (path, name) = resource.rsplit_once('/')?;
    Some((format!("{path}/"), name.to_string()))
}

async fn create_copy(
    iam: &dyn Iam,
    role_name: &str,
    arn: &str,
    doc: &str,
) -> Result<Option<(String, String)>, AwsError> {
    let Some((path, name)) = path_and_name(arn) else {
        return Err(AwsError::new(
            ErrorKind::InvalidInput,
            "CreatePolicy",
            format!("{arn} is not a managed policy ARN"),
        ));
    };
    let description = format!("Trimmed copy for role {role_name}, made by Whittle");
    match iam
        .create_policy(&name, &path, doc, Some(&description))
        .await
    {
        Ok(created) if created == arn => Ok(None),
        Ok(created) => Err(AwsError::new(
            ErrorKind::Other,
            "CreatePolicy",
            format!("created {created}, expected {arn}"),
        )),
        // A run interrupted after the create: make sure the document is right.
        Err(e) if e.kind == ErrorKind::AlreadyExists => set_default_document(iam, arn, doc).await,
        Err(e) => Err(e),
    }
}

/// Makes `doc` the default document of `arn`: an existing version with that
/// document becomes the default, else a new version is created (deleting the
/// oldest non-default version when the policy already has five).
async fn set_default_document(
    iam: &dyn Iam,
    arn: &str,
    doc: &str,
) -> Result<Option<(String, String)>, AwsError> {
    let mut versions = iam.list_policy_versions(arn).await?;
    versions.sort_by_key(|v| std::cmp::Reverse(v.is_default));
    for v in &versions {
        let existing = iam.get_policy_version(arn, &v.version_id).await?;
        if same_document(&existing, doc) {
            if !v.is_default {
                iam.set_default_policy_version(arn, &v.version_id).await?;
            }
            return Ok(None);
        }
    }
    match iam.create_policy_version(arn, doc, true).await {
        Ok(id) => Ok(Some((arn.to_string(), id))),
        Err(e) if e.kind == ErrorKind::LimitExceeded => {
            let oldest = versions
                .iter()
                .filter(|v| !v.is_default)
                .min_by_key(|v| (v.create_date, version_number(&v.version_id)));
            let Some(oldest) = oldest else { return Err(e) };
            iam.delete_policy_version(arn, &oldest.version_id).await?;
            let id = iam.create_policy_version(arn, doc, true).await?;
            Ok(Some((arn.to_string(), id)))
        }
        Err(e) => Err(e),
    }
}

fn version_number(id: &str) -> u64 {
    id.trim_start_matches('v').parse().unwrap_or(u64::MAX)
}

/// Deletes a copy made by an apply: its non-default versions, then the policy.
async fn delete_copy(iam: &dyn Iam, arn: &str) -> Result<(), AwsError> {
    let versions = match iam.list_policy_versions(arn).await {
        Err(e) if e.kind == ErrorKind::NotFound => return Ok(()),
        other => other?,
    };
    for v in versions.iter().filter(|v| !v.is_default) {
        ignore_missing(iam.delete_policy_version(arn, &v.version_id).await)?;
    }
    ignore_missing(iam.delete_policy(arn).await)
}

#[cfg(test)]
mod tests {
    use super::path_and_name;

    #[test]
    fn copy_arns_give_path_and_name() {
        assert_eq!(
            path_and_name("arn:aws:iam::111122223333:policy/whittle/whittle-a-b"),
            Some(("/whittle/".to_string(), "whittle-a-b".to_string()))
        );
        assert_eq!(
            path_and_name("arn:aws:iam::111122223333:policy/p"),
            Some(("/".to_string(), "p".to_string()))
        );
        assert_eq!(path_and_name("arn:aws:iam::1:role/x"), None);
    }
}
