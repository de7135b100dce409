//! Who may call what, from the peer certificate only (design invariant 6), and the one
//! mapping of the server's errors to gRPC statuses.
//!
//! - Agents may use AgentService only, and only for the account in their certificate.
//! - Operators: a viewer reads; an operator also approves and rolls back; an admin also
//!   manages exclusion rules.
//!
//! Every handler starts with [`authorize`]; every error leaves a handler through
//! [`status`], which logs it.

use whittle_proto::convert::ConvertError;
use whittle_proto::identity::{Identity, IdentityError, OperatorRole};
use whittle_proto::tls::peer_identity;

use crate::store::StoreError;

/// What a call needs from its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// The agent of an account (AgentService).
    Agent,
    /// An operator with at least this role (AdminService).
    Operator(OperatorRole),
}

/// An error of the coordinator's server, on its way to becoming a gRPC status.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The peer has no usable certificate identity.
    #[error("no usable client certificate: {0}")]
    Unauthenticated(#[from] IdentityError),

    /// The peer's identity does not allow the call.
    #[error("{who} may not {what}")]
    Denied { who: String, what: String },

    /// A message that does not convert to a domain value.
    #[error(transparent)]
    Convert(#[from] ConvertError),

    /// A request or stream that breaks the protocol.
    #[error("{0}")]
    Protocol(String),

    /// A record the request names is missing.
    #[error("{0}")]
    NotFound(String),

    #[error(transparent)]
    Store(#[from] StoreError),

    /// A stored plan whose recorded inputs cannot be read back.
    #[error("stored plan of role {role_name} in account {account_id} is unreadable: {source}")]
    StoredPlan {
        account_id: String,
        role_name: String,
        #[source]
        source: serde_json::Error,
    },

    /// A blocking store task that did not finish.
    #[error("store task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// Authorises a call from the identity in the peer's verified certificate.
pub fn authorize<T>(
    request: &tonic::Request<T>,
    need: Need,
    what: &str,
) -> Result<Identity, ServerError> {
    let identity = peer_identity(request)?;
    check(&identity, need, what)?;
    Ok(identity)
}

/// Whether `identity` may do what `need` asks; `what` names the call in the error.
pub fn check(identity: &Identity, need: Need, what: &str) -> Result<(), ServerError> {
    let allowed = match (identity, need) {
        (Identity::Agent { .. }, Need::Agent) => true,
        (Identity::Operator { role, .. }, Need::Operator(required)) => role.allows(required),
        _ => false,
    };
    if allowed {
        Ok(())
    } else {
        Err(ServerError::Denied {
            who: who(identity),
            what: what.to_string(),
        })
    }
}

/// How an identity is named in the audit log and in errors.
pub fn who(identity: &Identity) -> String {
    match identity {
        Identity::Operator { name, role } => format!("operator {name} ({role})"),
        Identity::Agent { account_id } => format!("agent of account {account_id}"),
        Identity::Coordinator => "coordinator".to_string(),
    }
}

/// Maps an error to the gRPC status the caller gets, and logs it: server-side failures as
/// errors, the caller's mistakes as warnings.
pub fn status(err: ServerError) -> tonic::Status {
    use tonic::Code;
    let code = match &err {
        ServerError::Unauthenticated(_) => Code::Unauthenticated,
        ServerError::Denied { .. } => Code::PermissionDenied,
        ServerError::Convert(_) | ServerError::Protocol(_) => Code::InvalidArgument,
        ServerError::NotFound(_) => Code::NotFound,
        ServerError::Store(e) => store_code(e),
        ServerError::StoredPlan { .. } | ServerError::Task(_) => Code::Internal,
    };
    let message = err.to_string();
    match code {
        Code::Internal | Code::Unavailable => {
            tracing::error!(error = %message, ?code, "rpc failed")
        }
        _ => tracing::warn!(error = %message, ?code, "rpc refused"),
    }
    tonic::Status::new(code, message)
}

fn store_code(e: &StoreError) -> tonic::Code {
    use tonic::Code;
    if e.is_retryable() {
        return Code::Unavailable;
    }
    match e {
        StoreError::NotFound { .. } => Code::NotFound,
        StoreError::InvalidInput { .. }
        | StoreError::AccountMismatch { .. }
        | StoreError::ChangeConflict { .. } => Code::InvalidArgument,
        StoreError::PlanMismatch { .. }
        | StoreError::DecisionOpen { .. }
        | StoreError::InvalidDecisionTransition { .. }
        | StoreError::RollbackFinished { .. } => Code::FailedPrecondition,
        _ => Code::Internal,
    }
}
