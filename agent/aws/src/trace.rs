//! The trace span around every AWS call, with its field names defined once.
//!
//! Fields: `operation` (the AWS API name), `account_id`, `role_name` and
//! `policy_arn` (each recorded only when known for the call).

use tracing::Span;

/// What a span says about one AWS call.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CallFields<'a> {
    pub operation: &'static str,
    pub role_name: Option<&'a str>,
    pub policy_arn: Option<&'a str>,
}

impl<'a> CallFields<'a> {
    pub fn new(operation: &'static str) -> CallFields<'a> {
        CallFields {
            operation,
            role_name: None,
            policy_arn: None,
        }
    }

    pub fn role(mut self, role_name: &'a str) -> CallFields<'a> {
        self.role_name = Some(role_name);
        self
    }

    pub fn policy(mut self, policy_arn: &'a str) -> CallFields<'a> {
        self.policy_arn = Some(policy_arn);
        self
    }
}

/// The span for one AWS call.
pub(crate) fn aws_call_span(account_id: Option<&str>, fields: CallFields<'_>) -> Span {
    tracing::info_span!(
        "aws_call",
        operation = fields.operation,
        account_id = account_id,
        role_name = fields.role_name,
        policy_arn = fields.policy_arn,
    )
}
