//! The names of the AWS API operations the door calls, exactly as AWS spells them.
//!
//! They name operations in [`crate::AwsError`], in trace spans, and in the
//! simulated account's fault injection and call counters.

pub const LIST_ROLES: &str = "ListRoles";
pub const GET_ROLE: &str = "GetRole";
pub const LIST_ROLE_POLICIES: &str = "ListRolePolicies";
pub const GET_ROLE_POLICY: &str = "GetRolePolicy";
pub const PUT_ROLE_POLICY: &str = "PutRolePolicy";
pub const DELETE_ROLE_POLICY: &str = "DeleteRolePolicy";
pub const LIST_ATTACHED_ROLE_POLICIES: &str = "ListAttachedRolePolicies";
pub const ATTACH_ROLE_POLICY: &str = "AttachRolePolicy";
pub const DETACH_ROLE_POLICY: &str = "DetachRolePolicy";
pub const GET_POLICY: &str = "GetPolicy";
pub const GET_POLICY_VERSION: &str = "GetPolicyVersion";
pub const LIST_POLICY_VERSIONS: &str = "ListPolicyVersions";
pub const CREATE_POLICY_VERSION: &str = "CreatePolicyVersion";
pub const DELETE_POLICY_VERSION: &str = "DeletePolicyVersion";
pub const SET_DEFAULT_POLICY_VERSION: &str = "SetDefaultPolicyVersion";
pub const CREATE_POLICY: &str = "CreatePolicy";
pub const DELETE_POLICY: &str = "DeletePolicy";
pub const GENERATE_SERVICE_LAST_ACCESSED_DETAILS: &str = "GenerateServiceLastAccessedDetails";
pub const GET_SERVICE_LAST_ACCESSED_DETAILS: &str = "GetServiceLastAccessedDetails";
pub const GET_CALLER_IDENTITY: &str = "GetCallerIdentity";

/// Not called by the agent: the simulated account's set-up helpers use them.
pub const CREATE_ROLE: &str = "CreateRole";
pub const DELETE_ROLE: &str = "DeleteRole";

/// The operations that change IAM state.
pub const WRITES: &[&str] = &[
    PUT_ROLE_POLICY,
    DELETE_ROLE_POLICY,
    ATTACH_ROLE_POLICY,
    DETACH_ROLE_POLICY,
    CREATE_POLICY_VERSION,
    DELETE_POLICY_VERSION,
    SET_DEFAULT_POLICY_VERSION,
    CREATE_POLICY,
    DELETE_POLICY,
];

/// Every operation the traits make.
pub const ALL: &[&str] = &[
    LIST_ROLES,
    GET_ROLE,
    LIST_ROLE_POLICIES,
    GET_ROLE_POLICY,
    PUT_ROLE_POLICY,
    DELETE_ROLE_POLICY,
    LIST_ATTACHED_ROLE_POLICIES,
    ATTACH_ROLE_POLICY,
    DETACH_ROLE_POLICY,
    GET_POLICY,
    GET_POLICY_VERSION,
    LIST_POLICY_VERSIONS,
    CREATE_POLICY_VERSION,
    DELETE_POLICY_VERSION,
    SET_DEFAULT_POLICY_VERSION,
    CREATE_POLICY,
    DELETE_POLICY,
    GENERATE_SERVICE_LAST_ACCESSED_DETAILS,
    GET_SERVICE_LAST_ACCESSED_DETAILS,
    GET_CALLER_IDENTITY,
];

/// Whether an operation changes IAM state.
pub fn is_write(operation: &str) -> bool {
    WRITES.contains(&operation)
}
