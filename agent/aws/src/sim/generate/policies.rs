//! The managed policies of a generated account: shared customer managed
//! policies, a permissions boundary, and AWS managed policies (abridged, so
//! they stay under IAM's size limit) with their documents, which the simulated
//! account needs.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::rng::{DAY, Rng, mix};
use super::roles::RoleSpec;
use super::tables::{LINKED, READ_ONLY_SERVICES};
use super::{Generator, policy_document, statement, strings, time};

/// Customer and AWS managed policies roles attach.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Managed {
    Observability,
    RegionGuardrail,
    KmsDecrypt,
    SsmRead,
    EcrPull,
    Boundary,
    Administrator,
    ReadOnly,
    S3ReadOnly,
    SqsReadOnly,
    LambdaBasic,
    Linked(usize),
}

impl Managed {
    pub(super) fn name(self) -> &'static str {
        match self {
            Managed::Observability => "shared-observability",
            Managed::RegionGuardrail => "region-guardrail",
            Managed::KmsDecrypt => "kms-app-decrypt",
            Managed::SsmRead => "ssm-parameters-read",
            Managed::EcrPull => "ecr-pull",
            Managed::Boundary => "workload-boundary",
            Managed::Administrator => "AdministratorAccess",
            Managed::ReadOnly => "ReadOnlyAccess",
            Managed::S3ReadOnly => "AmazonS3ReadOnlyAccess",
            Managed::SqsReadOnly => "AmazonSQSReadOnlyAccess",
            Managed::LambdaBasic => "AWSLambdaBasicExecutionRole",
            Managed::Linked(i) => LINKED.get(i).map(|l| l.2).unwrap_or("ServiceRolePolicy"),
        }
    }

    pub(super) fn path(self) -> &'static str {
        match self {
            Managed::RegionGuardrail => "/guardrails/",
            Managed::LambdaBasic => "/service-role/",
            Managed::Linked(_) => "/aws-service-role/",
            _ => "/",
        }
    }

    pub(super) fn is_aws(self) -> bool {
        matches!(
            self,
            Managed::Administrator
                | Managed::ReadOnly
                | Managed::S3ReadOnly
                | Managed::SqsReadOnly
                | Managed::LambdaBasic
                | Managed::Linked(_)
        )
    }

    pub(super) fn arn(self, account: &str) -> String {
        let owner = if self.is_aws() { "aws" } else { account };
        format!("arn:aws:iam::{owner}:policy{}{}", self.path(), self.name())
    }
}

impl Generator {
    /// The default document of a managed policy.
    pub(super) fn managed_document(&self, m: Managed) -> Value {
        let (a, reg) = (&self.account, self.region);
        let allow = |sid: &str, actions: &[&str], resource: Value| {
            statement(sid, "Allow", "Action", &strings(actions), resource, None)
        };
        let statements = match m {
            Managed::Observability => vec![
                allow(
                    "Logs",
                    &[
                        "logs:CreateLogGroup",
                        "logs:CreateLogStream",
                        "logs:PutLogEvents",
                    ],
                    json!(format!("arn:aws:logs:{reg}:{a}:log-group:*")),
                ),
                allow("Metrics", &["cloudwatch:PutMetricData"], json!("*")),
                allow(
                    "Tracing",
                    &[
                        "xray:PutTraceSegments",
                        "xray:PutTelemetryRecords",
                        "xray:GetSamplingRules",
                        "xray:GetSamplingTargets",
                    ],
                    json!("*"),
                ),
            ],
            Managed::RegionGuardrail => vec![statement(
                "DenyOutsideHomeRegions",
                "Deny",
                "NotAction",
                &strings(&[
                    "iam:*",
                    "sts:*",
                    "organizations:*",
                    "support:*",
                    "cloudfront:*",
                    "route53:*",
                ]),
                json!("*"),
                Some(json!({"StringNotEquals": {"aws:RequestedRegion": [reg, "us-east-1"]}})),
            )],
            Managed::KmsDecrypt => vec![statement(
                "DecryptViaServices",
                "Allow",
                "Action",
                &strings(&["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"]),
                json!(format!("arn:aws:kms:{reg}:{a}:key/*")),
                Some(json!({"StringEquals": {"kms:ViaService": [
                    format!("secretsmanager.{reg}.amazonaws.com"),
                    format!("s3.{reg}.amazonaws.com")
                ]}})),
            )],
            Managed::SsmRead => vec![allow(
                "ReadAppParameters",
                &[
                    "ssm:GetParameter",
                    "ssm:GetParameters",
                    "ssm:GetParametersByPath",
                ],
                json!(format!("arn:aws:ssm:{reg}:{a}:parameter/app/*")),
            )],
            Managed::EcrPull => vec![allow(
                "PullImages",
                &[
                    "ecr:GetAuthorizationToken",
                    "ecr:BatchCheckLayerAvailability",
                    "ecr:GetDownloadUrlForLayer",
                    "ecr:BatchGetImage",
                ],
                json!("*"),
            )],
            Managed::Boundary => vec![
                allow(
                    "WorkloadServices",
                    &[
                        "s3:*",
                        "dynamodb:*",
                        "sqs:*",
                        "sns:*",
                        "lambda:*",
                        "kms:*",
                        "logs:*",
                        "cloudwatch:*",
                        "xray:*",
                        "ssm:*",
                        "secretsmanager:*",
                        "kinesis:*",
                        "firehose:*",
                        "states:*",
                        "events:*",
                        "athena:*",
                        "glue:*",
                        "ecr:*",
                    ],
                    json!("*"),
                ),
                statement(
                    "NoIdentityChanges",
                    "Deny",
                    "Action",
                    &strings(&["iam:*", "organizations:*"]),
                    json!("*"),
                    None,
                ),
            ],
            Managed::Administrator => vec![statement(
                "",
                "Allow",
                "Action",
                &strings(&["*"]),
                json!("*"),
                None,
            )],
            Managed::ReadOnly => vec![self.read_only_statement()],
            Managed::S3ReadOnly => vec![allow(
                "",
                &[
                    "s3:Get*",
                    "s3:List*",
                    "s3:Describe*",
                    "s3-object-lambda:Get*",
                    "s3-object-lambda:List*",
                ],
                json!("*"),
            )],
            Managed::SqsReadOnly => vec![allow(
                "",
                &[
                    "sqs:GetQueueAttributes",
                    "sqs:GetQueueUrl",
                    "sqs:ListDeadLetterSourceQueues",
                    "sqs:ListQueues",
                    "sqs:ListMessageMoveTasks",
                    "sqs:ListQueueTags",
                ],
                json!("*"),
            )],
            Managed::LambdaBasic => vec![allow(
                "",
                &[
                    "logs:CreateLogGroup",
                    "logs:CreateLogStream",
                    "logs:PutLogEvents",
                ],
                json!("*"),
            )],
            Managed::Linked(i) => {
                let actions = LINKED.get(i).map(|l| l.3).unwrap_or_default();
                vec![allow("", actions, json!("*"))]
            }
        };
        policy_document(&statements)
    }

    /// `ReadOnlyAccess`, abridged: `Describe*`, `Get*` and `List*` of common
    /// services, wherever the catalogue has such actions.
    pub(super) fn read_only_statement(&self) -> Value {
        let mut actions = Vec::new();
        for svc in READ_ONLY_SERVICES {
            for verb in ["Describe*", "Get*", "List*"] {
                let pattern = format!("{svc}:{verb}");
                if !self.catalogue.expand(&pattern).is_empty() {
                    actions.push(pattern);
                }
            }
        }
        statement("", "Allow", "Action", &actions, json!("*"), None)
    }

    /// Every managed policy the roles attach or use as a boundary, with its
    /// attachment counts and its default version.
    pub(super) fn policies_json(&self, roles: &[RoleSpec]) -> Vec<Value> {
        let mut attachments: BTreeMap<Managed, (u32, u32)> = BTreeMap::new();
        for role in roles {
            for m in &role.attached {
                attachments.entry(*m).or_default().0 += 1;
            }
            if let Some(b) = role.boundary {
                attachments.entry(b).or_default().1 += 1;
            }
        }
        let mut out: Vec<(String, Value)> = attachments
            .into_iter()
            .map(|(m, (attached, boundary))| {
                let arn = m.arn(&self.account);
                // Ids and dates depend on the policy alone (AWS managed ones
                // are the same in every account).
                let owner_seed = if m.is_aws() {
                    0
                } else {
                    mix(self.seed, &self.account)
                };
                let mut rng = Rng::new(mix(owner_seed, m.name()));
                let created = if m.is_aws() {
                    "2015-02-06T18:40:00+00:00".to_string()
                } else {
                    time(self.now - rng.minutes(400 * DAY, 1500 * DAY))
                };
                let version = format!("v{}", 1 + rng.below(4));
                let policy = json!({
                    "PolicyName": m.name(),
                    "PolicyId": rng.unique_id("ANPA"),
                    "Arn": arn,
                    "Path": m.path(),
                    "DefaultVersionId": version,
                    "AttachmentCount": attached,
                    "PermissionsBoundaryUsageCount": boundary,
                    "IsAttachable": true,
                    "CreateDate": created,
                    "UpdateDate": created,
                    "PolicyVersionList": [{
                        "Document": self.managed_document(m),
                        "VersionId": version,
                        "IsDefaultVersion": true,
                        "CreateDate": created
                    }]
                });
                (arn, policy)
            })
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out.into_iter().map(|(_, p)| p).collect()
    }
}
