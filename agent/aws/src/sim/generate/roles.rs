//! The roles of a generated account: which kinds an account holds, and each
//! kind built with its trust policy, tags, inline statements, attachments and
//! the services it uses.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};
use whittle_policy::document::iam_size;

use super::policies::Managed;
use super::rng::{DAY, Rng};
use super::tables::{Kit, LINKED, OPS, SHAPES, Shape, TEAMS, kit};
use super::{Generator, policy_document, sid_part, statement, strings, time};
use crate::sim::MAX_INLINE_SIZE;

/// The kinds of role an account holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Admin,
    OrgAccess,
    BreakGlass(usize),
    ReadOnlyNotAction,
    Audit,
    ServiceLinked(usize),
    Ci { young: bool },
    Ops { young: bool },
    App { young: bool },
}

/// The kinds of `n` roles: the account-wide roles first (so small accounts
/// still hold the interesting ones), then a mix of application, CI and
/// operations roles, about one in twelve of them young.
pub(super) fn kinds(n: usize, rng: &mut Rng) -> Vec<Kind> {
    let mut out = vec![
        Kind::Admin,
        Kind::ServiceLinked(0),
        Kind::BreakGlass(0),
        Kind::App { young: true },
        Kind::ReadOnlyNotAction,
        Kind::OrgAccess,
        Kind::Audit,
    ];
    let linked = (n / 20).clamp(1, LINKED.len());
    out.extend((1..linked).map(Kind::ServiceLinked));
    if n >= 60 {
        out.push(Kind::BreakGlass(1));
    }
    out.truncate(n);
    while out.len() < n {
        let young = rng.chance(8);
        out.push(match rng.below(100) {
            0..10 => Kind::Ci { young },
            10..25 => Kind::Ops { young },
            _ => Kind::App { young },
        });
    }
    out
}

/// One role as it is being built.
#[derive(Debug, Clone)]
pub(super) struct RoleSpec {
    pub(super) name: String,
    pub(super) path: String,
    pub(super) created: DateTime<Utc>,
    pub(super) trust: Value,
    pub(super) tags: Vec<(String, String)>,
    /// Inline policies: name and statements.
    pub(super) inline: Vec<(String, Vec<Value>)>,
    pub(super) attached: Vec<Managed>,
    pub(super) boundary: Option<Managed>,
    /// Services used within the last month; `stale`: only long ago.
    pub(super) recent: BTreeSet<String>,
    pub(super) stale: BTreeSet<String>,
    /// Actions the role's own code calls (`service:Action`, lowercase).
    pub(super) hot: BTreeSet<String>,
}

impl RoleSpec {
    pub(super) fn new(name: String, created: DateTime<Utc>, trust: Value) -> RoleSpec {
        RoleSpec {
            name,
            path: "/".to_string(),
            created,
            trust,
            tags: Vec::new(),
            inline: Vec::new(),
            attached: Vec::new(),
            boundary: None,
            recent: BTreeSet::new(),
            stale: BTreeSet::new(),
            hot: BTreeSet::new(),
        }
    }

    pub(super) fn tag(&mut self, key: &str, value: &str) {
        self.tags.push((key.to_string(), value.to_string()));
    }

    pub(super) fn uses(&mut self, recent: &[&str], stale: &[&str]) {
        self.recent.extend(recent.iter().map(|s| s.to_string()));
        self.stale.extend(stale.iter().map(|s| s.to_string()));
    }

    pub(super) fn hot(&mut self, actions: &[&str]) {
        self.hot
            .extend(actions.iter().map(|a| a.to_ascii_lowercase()));
    }
}

/// Same-named roles get `-2`, `-3`, ... (IAM names are unique in an account).
pub(super) fn dedupe_names(roles: &mut [RoleSpec]) {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for role in roles.iter_mut() {
        let n = seen.entry(role.name.clone()).or_insert(0);
        *n += 1;
        if *n > 1 {
            role.name = format!("{}-{n}", role.name);
        }
    }
}

/// The inline documents' total size as IAM counts it.
pub(super) fn inline_size(role: &RoleSpec) -> usize {
    role.inline
        .iter()
        .map(|(_, s)| iam_size(&policy_document(s).to_string()))
        .sum()
}

/// Drops the last statements until the inline documents fit IAM's per-role quota.
pub(super) fn fit_inline(role: &mut RoleSpec) {
    while inline_size(role) >= MAX_INLINE_SIZE {
        let Some((_, last)) = role.inline.last_mut() else {
            return;
        };
        last.pop();
        if last.is_empty() {
            role.inline.pop();
        }
    }
}

impl Generator {
    pub(super) fn old_date(&mut self) -> DateTime<Utc> {
        self.now - self.rng.minutes(120 * DAY, 2200 * DAY)
    }

    pub(super) fn young_date(&mut self) -> DateTime<Utc> {
        self.now - self.rng.minutes(3 * DAY, 80 * DAY)
    }

    pub(super) fn role(&mut self, kind: Kind, index: usize) -> RoleSpec {
        match kind {
            Kind::Admin => self.admin_role(),
            Kind::OrgAccess => self.org_access_role(),
            Kind::BreakGlass(i) => self.break_glass_role(i),
            Kind::ReadOnlyNotAction => self.read_only_role(),
            Kind::Audit => self.audit_role(),
            Kind::ServiceLinked(i) => self.linked_role(i),
            Kind::Ci { young } => self.ci_role(young),
            Kind::Ops { young } => self.ops_role(young, index),
            Kind::App { young } => self.app_role(young),
        }
    }

    pub(super) fn service_trust(principal: &str) -> Value {
        json!({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": principal},
            "Action": "sts:AssumeRole"
        }]})
    }

    pub(super) fn saml_trust(&self) -> Value {
        json!({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": format!("arn:aws:iam::{}:saml-provider/corp-idp", self.account)},
            "Action": "sts:AssumeRoleWithSAML",
            "Condition": {"StringEquals": {"SAML:aud": "https://signin.aws.amazon.com/saml"}}
        }]})
    }

    pub(super) fn mfa_trust(&self) -> Value {
        json!({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow",
            "Principal": {"AWS": format!("arn:aws:iam::{}:root", self.management)},
            "Action": "sts:AssumeRole",
            "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
        }]})
    }

    pub(super) fn admin_role(&mut self) -> RoleSpec {
        let created = self.old_date();
        let mut r = RoleSpec::new("platform-admin".into(), created, self.saml_trust());
        r.tag("team", "platform");
        let allow = statement(
            "Admin",
            "Allow",
            "Action",
            &strings(&["*"]),
            json!("*"),
            None,
        );
        let deny = statement(
            "NoLeavingTheOrganization",
            "Deny",
            "Action",
            &strings(&["organizations:LeaveOrganization", "account:CloseAccount"]),
            json!("*"),
            None,
        );
        r.inline.push(("administrator".into(), vec![allow, deny]));
        r.uses(
            &[
                "iam",
                "sts",
                "s3",
                "ec2",
                "cloudformation",
                "logs",
                "cloudwatch",
            ],
            &["rds", "lambda", "kms", "route53"],
        );
        r.hot(&[
            "iam:GetRole",
            "iam:ListRoles",
            "iam:PutRolePolicy",
            "sts:GetCallerIdentity",
            "s3:ListAllMyBuckets",
            "s3:GetBucketPolicy",
            "ec2:DescribeVolumes",
            "cloudformation:DescribeStacks",
            "cloudformation:CreateChangeSet",
        ]);
        r
    }

    pub(super) fn org_access_role(&mut self) -> RoleSpec {
        let created = self.old_date();
        let trust = json!({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow",
            "Principal": {"AWS": format!("arn:aws:iam::{}:root", self.management)},
            "Action": "sts:AssumeRole"
        }]});
        let mut r = RoleSpec::new("OrganizationAccountAccessRole".into(), created, trust);
        r.attached.push(Managed::Administrator);
        r.uses(&["sts", "iam"], &["organizations", "cloudformation"]);
        r.hot(&["iam:CreateRole", "iam:ListRoles", "sts:GetCallerIdentity"]);
        r
    }

    pub(super) fn break_glass_role(&mut self, i: usize) -> RoleSpec {
        let created = self.old_date();
        let (name, grants): (&str, &[&str]) = if i == 0 {
            (
                "break-glass-admin",
                &[
                    "iam:*",
                    "sts:*",
                    "organizations:Describe*",
                    "organizations:List*",
                ],
            )
        } else {
            (
                "break-glass-network",
                &["ec2:*", "elasticloadbalancing:*", "route53:*"],
            )
        };
        let mut r = RoleSpec::new(name.into(), created, self.mfa_trust());
        r.tag("whittle:break-glass", "true");
        r.tag("owner", "security");
        let s = statement(
            "BreakGlass",
            "Allow",
            "Action",
            &strings(grants),
            json!("*"),
            None,
        );
        r.inline.push(("break-glass".into(), vec![s]));
        if i == 0 {
            r.uses(&["sts"], &["iam"]);
            r.hot(&["sts:GetCallerIdentity", "iam:ListRoles", "iam:GetRole"]);
        } else {
            r.uses(&[], &["ec2", "route53"]);
            r.hot(&[
                "ec2:DescribeRouteTables",
                "route53:ChangeResourceRecordSets",
            ]);
        }
        r
    }

    pub(super) fn read_only_role(&mut self) -> RoleSpec {
        let created = self.old_date();
        let mut r = RoleSpec::new(
            "ops-readonly-except-secrets".into(),
            created,
            self.saml_trust(),
        );
        r.tag("team", "sre");
        let s = statement(
            "ReadEverythingButSecrets",
            "Allow",
            "NotAction",
            &strings(&[
                "secretsmanager:GetSecretValue",
                "kms:Decrypt",
                "ssm:GetParameter*",
            ]),
            json!("*"),
            None,
        );
        r.inline.push(("readonly".into(), vec![s]));
        r.uses(&["s3", "ec2", "cloudwatch", "logs", "sts"], &["rds"]);
        r.hot(&[
            "s3:ListAllMyBuckets",
            "s3:GetBucketLocation",
            "ec2:DescribeSecurityGroups",
            "ec2:DescribeVpcs",
            "cloudwatch:DescribeAlarms",
            "logs:DescribeLogGroups",
            "logs:StartQuery",
            "sts:GetCallerIdentity",
        ]);
        r
    }

    pub(super) fn audit_role(&mut self) -> RoleSpec {
        let created = self.old_date();
        let mut r = RoleSpec::new("security-audit".into(), created, self.saml_trust());
        r.tag("team", "security");
        r.attached.push(Managed::ReadOnly);
        let s = statement(
            "CredentialReport",
            "Allow",
            "Action",
            &strings(&["iam:GenerateCredentialReport", "iam:GetAccountSummary"]),
            json!("*"),
            Some(json!({"Bool": {"aws:MultiFactorAuthPresent": "true"}})),
        );
        r.inline.push(("audit-extras".into(), vec![s]));
        r.uses(&["iam", "s3", "ec2", "cloudtrail"], &["kms", "lambda"]);
        r.hot(&[
            "iam:GetAccountSummary",
            "iam:ListRoles",
            "s3:GetBucketPolicy",
            "ec2:DescribeSecurityGroups",
            "cloudtrail:DescribeTrails",
        ]);
        r
    }

    pub(super) fn linked_role(&mut self, i: usize) -> RoleSpec {
        let created = self.old_date();
        let (name, principal, _, actions) = LINKED.get(i).copied().unwrap_or(LINKED[0]);
        let mut r = RoleSpec::new(name.into(), created, Self::service_trust(principal));
        r.path = format!("/aws-service-role/{principal}/");
        r.attached.push(Managed::Linked(i));
        let services: BTreeSet<&str> = actions.iter().filter_map(|a| a.split(':').next()).collect();
        r.recent.extend(services.iter().map(|s| s.to_string()));
        r.hot(actions);
        r
    }

    pub(super) fn ci_role(&mut self, young: bool) -> RoleSpec {
        let created = if young {
            self.young_date()
        } else {
            self.old_date()
        };
        let team = self.rng.pick(TEAMS);
        let trust = json!({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": format!(
                "arn:aws:iam::{}:oidc-provider/token.actions.githubusercontent.com", self.account)},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringLike": {
                "token.actions.githubusercontent.com:sub": format!("repo:example-org/{team}-*:ref:refs/heads/main")
            }}
        }]});
        let mut r = RoleSpec::new(format!("ci-deployer-{team}"), created, trust);
        r.tag("team", team);
        r.tag("purpose", "ci");
        let (a, reg) = (self.account.clone(), self.region);
        let mut st = vec![
            statement(
                "CloudFormationDeploy",
                "Allow",
                "Action",
                &strings(&["cloudformation:*"]),
                json!(format!("arn:aws:cloudformation:{reg}:{a}:stack/{team}-*/*")),
                None,
            ),
            statement(
                "PassExecutionRole",
                "Allow",
                "Action",
                &strings(&["iam:PassRole"]),
                json!(format!("arn:aws:iam::{a}:role/{team}-*")),
                Some(
                    json!({"StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}}),
                ),
            ),
            statement(
                "Artifacts",
                "Allow",
                "Action",
                &strings(&["s3:GetObject", "s3:PutObject", "s3:ListBucket"]),
                json!([
                    format!("arn:aws:s3:::{team}-artifacts-{a}"),
                    format!("arn:aws:s3:::{team}-artifacts-{a}/*")
                ]),
                None,
            ),
        ];
        let ecr = if self.rng.chance(50) {
            strings(&["ecr:*"])
        } else {
            strings(&[
                "ecr:GetAuthorizationToken",
                "ecr:BatchCheckLayerAvailability",
                "ecr:InitiateLayerUpload",
                "ecr:UploadLayerPart",
                "ecr:CompleteLayerUpload",
                "ecr:PutImage",
            ])
        };
        st.push(statement(
            "ContainerImages",
            "Allow",
            "Action",
            &ecr,
            json!("*"),
            None,
        ));
        if self.rng.chance(40) {
            st.push(statement(
                "LambdaDeploy",
                "Allow",
                "Action",
                &strings(&["lambda:UpdateFunctionCode", "lambda:GetFunction"]),
                json!(format!("arn:aws:lambda:{reg}:{a}:function:{team}-*")),
                None,
            ));
            if self.rng.chance(50) {
                r.uses(&["lambda"], &[]);
            }
        }
        if self.rng.chance(15) {
            st.push(statement(
                "NOREPOBuildCache",
                "Allow",
                "Action",
                &strings(&["ec2:*"]),
                json!("*"),
                None,
            ));
        }
        r.inline.push(("ci-deploy".into(), st));
        r.uses(&["cloudformation", "s3"], &[]);
        match self.rng.below(10) {
            0..4 => r.uses(&["ecr"], &[]),
            4..7 => r.uses(&[], &["ecr"]),
            _ => {}
        }
        r.hot(&[
            "cloudformation:CreateChangeSet",
            "cloudformation:DescribeChangeSet",
            "cloudformation:ExecuteChangeSet",
            "cloudformation:DescribeStacks",
            "cloudformation:DescribeStackEvents",
            "cloudformation:ValidateTemplate",
            "ecr:GetAuthorizationToken",
            "ecr:PutImage",
            "lambda:GetFunction",
        ]);
        if self.rng.chance(50) {
            r.attached.push(Managed::RegionGuardrail);
        }
        r
    }

    pub(super) fn ops_role(&mut self, young: bool, index: usize) -> RoleSpec {
        let created = if young {
            self.young_date()
        } else {
            self.old_date()
        };
        let (name, patterns, used) =
            OPS[(index + self.rng.below(OPS.len() as u64) as usize) % OPS.len()];
        let mut r = RoleSpec::new(
            name.into(),
            created,
            Self::service_trust("lambda.amazonaws.com"),
        );
        r.tag("team", "sre");
        let mut st: Vec<Value> = patterns
            .iter()
            .map(|p| {
                let svc = p.split(':').next().unwrap_or_default();
                let sid = format!("{}Access", sid_part(svc));
                statement(&sid, "Allow", "Action", &strings(&[p]), json!("*"), None)
            })
            .collect();
        if self.rng.chance(25)
            && let Some(Value::Object(first)) = st.first_mut()
        {
            first.insert(
                "Condition".into(),
                json!({"StringEquals": {"aws:RequestedRegion": self.region}}),
            );
        }
        if self.rng.chance(30) {
            st.push(statement(
                "NeverDeleteBuckets",
                "Deny",
                "Action",
                &strings(&["s3:DeleteBucket"]),
                json!("*"),
                None,
            ));
        }
        r.inline.push((format!("{name}-policy"), st));
        r.uses(used, &[]);
        for p in patterns.iter().skip(1) {
            let svc = p.split(':').next().unwrap_or_default();
            if !used.contains(&svc) && self.rng.chance(30) {
                r.stale.insert(svc.to_string());
            }
        }
        if self.rng.chance(40) {
            r.attached.push(Managed::Observability);
            r.uses(&["logs"], &[]);
        }
        r
    }

    pub(super) fn app_role(&mut self, young: bool) -> RoleSpec {
        let created = if young {
            self.young_date()
        } else {
            self.old_date()
        };
        let shape = &SHAPES[self.rng.below(SHAPES.len() as u64) as usize];
        let team = self.rng.pick(TEAMS);
        let app = format!("{team}-{}", shape.component);
        let role_name = format!(
            "{app}-{}",
            if shape.principal.starts_with("lambda") {
                "function"
            } else {
                "role"
            }
        );
        let mut r = RoleSpec::new(role_name, created, Self::service_trust(shape.principal));
        if self.rng.chance(20) {
            r.path = "/service-role/".into();
        }
        r.tag("team", team);
        r.tag("app", &app);
        r.tag("env", self.rng.pick(&["prod", "prod", "staging", "dev"]));
        r.tag(
            "cost-center",
            &format!("cc-{}", 1000 + self.rng.below(9000)),
        );

        let core_n = 2 + self.rng.below(2) as usize;
        let core = self.rng.subset(shape.core, core_n);
        let extra_n = 1 + self.rng.below(4) as usize;
        let extra = self.rng.subset(shape.extra, extra_n);
        let mut statements = Vec::new();
        for svc in core.iter().chain(&extra) {
            if let Some(kit) = kit(svc) {
                statements.push(self.service_statement(kit, &app, team, &mut r));
            }
        }
        r.uses(&core, &[]);
        for svc in &extra {
            match self.rng.below(100) {
                0..15 => r.uses(&[svc], &[]),
                15..40 => r.uses(&[], &[svc]),
                _ => {}
            }
        }
        if self.rng.chance(8)
            && let Some(Value::Object(s)) = statements.last_mut()
        {
            s.insert("Sid".into(), json!("NOREPOKeepForIncidents"));
        }
        if self.rng.chance(30) {
            statements.push(self.deny_statement(&app));
        }
        if statements.len() > 4 && self.rng.chance(50) {
            let second = statements.split_off(statements.len() / 2);
            r.inline.push((format!("{app}-access"), statements));
            r.inline.push((format!("{app}-extras"), second));
        } else {
            r.inline.push((format!("{app}-access"), statements));
        }
        self.attach_shared(&mut r, shape);
        r
    }

    /// An Allow statement for one service: literal actions, wildcards or both,
    /// sometimes with a Condition.
    pub(super) fn service_statement(
        &mut self,
        kit: &Kit,
        app: &str,
        team: &str,
        r: &mut RoleSpec,
    ) -> Value {
        let prefix = kit.prefix;
        let full = |names: &[&str]| -> Vec<String> {
            names.iter().map(|n| format!("{prefix}:{n}")).collect()
        };
        let n_reads = 1 + self.rng.below(kit.read.len() as u64) as usize;
        let reads = self.rng.subset(kit.read, n_reads);
        let n_writes = self.rng.below(kit.write.len() as u64 + 1) as usize;
        let writes = self.rng.subset(kit.write, n_writes);
        let literal: Vec<String> = full(&reads).into_iter().chain(full(&writes)).collect();
        let style = self.rng.below(100);
        let actions = match style {
            0..45 => literal.clone(),
            45..70 => {
                let mut a = full(&reads);
                a.push(self.rng.pick(kit.wildcards).to_string());
                a
            }
            _ => vec![self.rng.pick(kit.wildcards).to_string()],
        };
        r.hot.extend(literal.iter().map(|a| a.to_ascii_lowercase()));
        let condition = if self.rng.chance(15) {
            Some(match self.rng.below(3) {
                0 => json!({"Bool": {"aws:SecureTransport": "true"}}),
                1 => json!({"StringEquals": {"aws:ResourceTag/team": team}}),
                _ => json!({"StringEquals": {"aws:RequestedRegion": self.region}}),
            })
        } else {
            None
        };
        let sid = format!(
            "{}{}",
            sid_part(prefix),
            if style < 45 { "Data" } else { "Access" }
        );
        statement(
            &sid,
            "Allow",
            "Action",
            &actions,
            self.resources(kit, app),
            condition,
        )
    }

    pub(super) fn deny_statement(&mut self, app: &str) -> Value {
        let a = &self.account;
        let (action, resource) = match self.rng.below(3) {
            0 => ("s3:DeleteBucket", format!("arn:aws:s3:::{app}-{a}")),
            1 => (
                "dynamodb:DeleteTable",
                format!("arn:aws:dynamodb:{}:{a}:table/{app}", self.region),
            ),
            _ => ("kms:ScheduleKeyDeletion", "*".to_string()),
        };
        statement(
            "DenyDestructive",
            "Deny",
            "Action",
            &strings(&[action]),
            json!(resource),
            None,
        )
    }

    /// Shared customer managed policies, AWS managed policies and a boundary.
    pub(super) fn attach_shared(&mut self, r: &mut RoleSpec, shape: &Shape) {
        if self.rng.chance(45) {
            r.attached.push(Managed::Observability);
            if self.rng.chance(80) {
                r.uses(&["logs"], &[]);
            }
            if self.rng.chance(40) {
                r.uses(&["cloudwatch"], &[]);
            }
            if self.rng.chance(20) {
                r.uses(&["xray"], &[]);
            }
        }
        if self.rng.chance(35) {
            r.attached.push(Managed::RegionGuardrail);
        }
        if self.rng.chance(25) {
            r.attached.push(Managed::KmsDecrypt);
            if self.rng.chance(50) {
                r.uses(&["kms"], &[]);
            }
        }
        if self.rng.chance(20) {
            r.attached.push(Managed::SsmRead);
            if self.rng.chance(60) {
                r.uses(&["ssm"], &[]);
            }
        }
        if shape.principal.starts_with("ecs") && self.rng.chance(50) {
            r.attached.push(Managed::EcrPull);
            r.uses(&["ecr"], &[]);
        }
        if shape.principal.starts_with("lambda") && self.rng.chance(70) {
            r.attached.push(Managed::LambdaBasic);
            r.uses(&["logs"], &[]);
        }
        if self.rng.chance(10) {
            r.attached.push(Managed::S3ReadOnly);
        }
        if self.rng.chance(8) {
            r.attached.push(Managed::SqsReadOnly);
        }
        if self.rng.chance(30) {
            r.boundary = Some(Managed::Boundary);
        }
    }

    pub(super) fn role_json(&mut self, role: &RoleSpec, last_used: Option<DateTime<Utc>>) -> Value {
        let mut r = Map::new();
        r.insert("Path".into(), json!(role.path));
        r.insert("RoleName".into(), json!(role.name));
        r.insert("RoleId".into(), json!(self.rng.unique_id("AROA")));
        r.insert("Arn".into(), json!(self.arn_of(role)));
        r.insert("CreateDate".into(), json!(time(role.created)));
        r.insert("AssumeRolePolicyDocument".into(), role.trust.clone());
        r.insert("InstanceProfileList".into(), json!([]));
        let inline: Vec<Value> = role
            .inline
            .iter()
            .map(|(name, s)| json!({"PolicyName": name, "PolicyDocument": policy_document(s)}))
            .collect();
        r.insert("RolePolicyList".into(), json!(inline));
        let attached: Vec<Value> = role
            .attached
            .iter()
            .map(|m| json!({"PolicyName": m.name(), "PolicyArn": m.arn(&self.account)}))
            .collect();
        r.insert("AttachedManagedPolicies".into(), json!(attached));
        if let Some(b) = role.boundary {
            r.insert(
                "PermissionsBoundary".into(),
                json!({"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": b.arn(&self.account)}),
            );
        }
        let tags: Vec<Value> = role
            .tags
            .iter()
            .map(|(k, v)| json!({"Key": k, "Value": v}))
            .collect();
        r.insert("Tags".into(), json!(tags));
        let last = match last_used {
            Some(t) => json!({"LastUsedDate": time(t), "Region": self.region}),
            None => json!({}),
        };
        r.insert("RoleLastUsed".into(), last);
        Value::Object(r)
    }
}
