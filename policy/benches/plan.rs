//! Planning speed on a generated account of 10,000 roles with realistic
//! policies (specific actions, `svc:*`, `svc:Prefix*`, a few `*`) and usage,
//! and on one role whose policy is `"Action": "*"`.
//!
//! Goals: at least 20,000 typical roles per second on one core; a `*` role in
//! under 5 ms. Run with `cargo bench -p whittle-policy --bench plan`; criterion
//! prints the time per batch and the throughput in roles per second.

#![allow(clippy::unwrap_used)] // benchmark set-up: a failure should stop the run

use std::collections::BTreeMap;
use std::hint::black_box;

use chrono::{DateTime, Duration, Utc};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::{Value, json};
use whittle_policy::model::{Granularity, ServiceUsage};
use whittle_policy::{Catalogue, Planner, Role, Settings, Usage};

/// A small deterministic generator (xorshift), so every run plans the same account.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

const COMMON: [&str; 16] = [
    "s3",
    "dynamodb",
    "sqs",
    "sns",
    "logs",
    "cloudwatch",
    "lambda",
    "kms",
    "ec2",
    "ecr",
    "secretsmanager",
    "ssm",
    "sts",
    "states",
    "kinesis",
    "xray",
];

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-20T12:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn statement(rng: &mut Rng, cat: &Catalogue, services: &mut Vec<String>, star: bool) -> Value {
    if star {
        return json!({"Effect": "Allow", "Action": "*", "Resource": "*"});
    }
    let svc = COMMON[rng.below(COMMON.len())];
    services.push(svc.to_string());
    let ids: Vec<_> = cat.service_actions(cat.service(svc).unwrap()).collect();
    let actions: Value = match rng.below(10) {
        0 => json!(format!("{svc}:*")),
        1 | 2 => json!([
            format!("{svc}:Get*"),
            format!("{svc}:List*"),
            format!("{svc}:Describe*")
        ]),
        _ => {
            let n = 3 + rng.below(8);
            json!(
                (0..n)
                    .map(|_| cat.full_name(ids[rng.below(ids.len())]))
                    .collect::<Vec<_>>()
            )
        }
    };
    json!({"Effect": "Allow", "Action": actions, "Resource": format!("arn:aws:{svc}:eu-west-1:111122223333:thing/{}", rng.below(1000))})
}

fn account(n: usize) -> Vec<(Role, Usage)> {
    let cat = Catalogue::embedded();
    let mut rng = Rng(0x5eed_1234_abcd_9876);
    (0..n)
        .map(|i| {
            let mut services = Vec::new();
            let star = i % 2000 == 7;
            let inline = (0..1 + rng.below(3))
                .map(|p| {
                    let sts: Vec<Value> = (0..2 + rng.below(3))
                        .map(|_| statement(&mut rng, cat, &mut services, star))
                        .collect();
                    (
                        format!("policy-{p}"),
                        json!({"Version": "2012-10-17", "Statement": sts}).to_string(),
                    )
                })
                .collect();
            let mut usage_services = BTreeMap::new();
            for svc in services {
                let used = rng.chance(60);
                let last = used.then(|| now() - Duration::days(rng.below(200) as i64));
                let mut actions = BTreeMap::new();
                if used {
                    let ids: Vec<_> = cat.service_actions(cat.service(&svc).unwrap()).collect();
                    for _ in 0..rng.below(6) {
                        let a = cat.action(ids[rng.below(ids.len())]);
                        actions.insert(
                            a.lower.clone(),
                            Some(now() - Duration::days(rng.below(150) as i64)),
                        );
                    }
                }
                usage_services.insert(
                    svc,
                    ServiceUsage {
                        last_authenticated: last,
                        actions,
                    },
                );
            }
            let role = Role {
                arn: format!("arn:aws:iam::111122223333:role/role-{i}"),
                role_id: format!("AROA{i:017}"),
                name: format!("role-{i}"),
                path: "/".into(),
                create_date: now() - Duration::days(365),
                tags: BTreeMap::new(),
                permissions_boundary: None,
                last_used: None,
                inline_policies: inline,
                attached_policies: vec![],
            };
            let usage = Usage {
                observed_at: now() - Duration::hours(2),
                granularity: Granularity::Action,
                services: usage_services,
            };
            (role, usage)
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let cat = Catalogue::embedded();
    let settings = Settings::default();
    let planner = Planner::new(cat, &settings).unwrap();
    let managed = BTreeMap::new();
    let roles = account(10_000);

    let mut group = c.benchmark_group("plan");
    group.sample_size(10);
    group.throughput(Throughput::Elements(roles.len() as u64));
    group.bench_function("10000 generated roles", |b| {
        b.iter(|| {
            for (role, usage) in &roles {
                black_box(planner.plan_role(role, &managed, Some(usage), now()));
            }
        })
    });
    group.finish();

    let star = Role {
        inline_policies: [(
            "admin".to_string(),
            json!({"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}).to_string(),
        )]
        .into_iter()
        .collect(),
        ..roles[0].0.clone()
    };
    let mut usage = roles[0].1.clone();
    for (i, s) in cat.services().iter().enumerate() {
        usage.services.insert(
            s.prefix.clone(),
            ServiceUsage {
                last_authenticated: (i % 5 == 0).then(|| now() - Duration::days(3)),
                actions: BTreeMap::new(),
            },
        );
    }
    let mut group = c.benchmark_group("plan");
    group.throughput(Throughput::Elements(1));
    group.bench_function("one role with Action *", |b| {
        b.iter(|| black_box(planner.plan_role(&star, &managed, Some(&usage), now())))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
