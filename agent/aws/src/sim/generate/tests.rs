//! The generator's tests: determinism, loading, the mix of roles and
//! policies, IAM's quotas, real action names, and usage that leaves most roles
//! with something to remove.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::sim::SimAccount;
use crate::sim::{MAX_INLINE_SIZE, MAX_MANAGED_SIZE};
use whittle_policy::document::iam_size;
use whittle_policy::exports::{parse_authorization_details, parse_last_accessed};
use whittle_policy::{Planner, Settings};

fn options(roles: usize, seed: u64) -> GenerateOptions {
    GenerateOptions {
        account_id: "111111111111".into(),
        roles,
        seed,
        now: DateTime::parse_from_rfc3339("2026-11-20T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc),
    }
}

fn read_dir(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    for sub in [dir.to_path_buf(), dir.join("last-accessed")] {
        for e in std::fs::read_dir(&sub).unwrap() {
            let p = e.unwrap().path();
            if p.is_file() {
                let rel = p.strip_prefix(dir).unwrap().to_path_buf();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

#[test]
fn the_same_seed_gives_the_same_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    write_account(&a, &options(80, 9)).unwrap();
    write_account(&b, &options(80, 9)).unwrap();
    let (fa, fb) = (read_dir(&a), read_dir(&b));
    assert_eq!(fa.len(), 81, "80 usage files and the details");
    assert_eq!(fa, fb);
    assert_ne!(
        generate(&options(80, 10)).unwrap(),
        generate(&options(80, 9)).unwrap()
    );
    let mut other = options(80, 9);
    other.account_id = "222222222222".into();
    assert_ne!(
        generate(&other).unwrap(),
        generate(&options(80, 9)).unwrap()
    );
    assert_eq!(account_ids(5, 3), account_ids(5, 3));
    assert_eq!(account_ids(5, 3).iter().collect::<BTreeSet<_>>().len(), 5);
}

#[test]
fn an_org_loads_as_simulated_accounts() {
    let tmp = tempfile::tempdir().unwrap();
    let ids = account_ids(2, 1);
    let o = options(30, 1);
    let written = generate_org(tmp.path(), &ids, 30, 1, o.now).unwrap();
    assert_eq!(written.len(), 2);
    for (w, id) in written.iter().zip(&ids) {
        assert_eq!(w.dir, tmp.path().join(format!("account-{id}")));
        assert_eq!(w.roles, 30);
        let sim = SimAccount::load(&w.dir).unwrap();
        assert_eq!(sim.account_id(), id);
        let export = sim.export();
        assert_eq!(export.roles.len(), 30);
        for r in &export.roles {
            for arn in &r.attached_policies {
                assert!(export.managed_policies.contains_key(arn), "{arn} is known");
            }
        }
    }
    // Rewriting with fewer roles leaves no usage file of a missing role.
    write_account(
        &written[0].dir,
        &GenerateOptions {
            roles: 10,
            account_id: ids[0].clone(),
            ..o
        },
    )
    .unwrap();
    assert_eq!(
        SimAccount::load(&written[0].dir)
            .unwrap()
            .export()
            .roles
            .len(),
        10
    );
    assert!(matches!(
        generate(&options(0, 1)),
        Err(GenerateError::NoRoles { .. })
    ));
}

#[test]
fn an_account_holds_the_realistic_mix() {
    let o = options(80, 1);
    let files = generate(&o).unwrap();
    let export = parse_authorization_details(&files.authorization_details).unwrap();
    let roles = &export.roles;
    let old = o.now - Duration::days(90);
    let count = |f: &dyn Fn(&whittle_policy::Role) -> bool| roles.iter().filter(|r| f(r)).count();
    let docs = |r: &whittle_policy::Role| -> Vec<String> {
        let mut d: Vec<String> = r.inline_policies.values().cloned().collect();
        d.extend(
            r.attached_policies
                .iter()
                .map(|a| export.managed_policies[a].document.clone()),
        );
        d
    };
    assert_eq!(roles.len(), 80);
    assert!(count(&|r| r.is_service_linked()) >= 3);
    assert!(
        count(&|r| r.name.starts_with("break-glass-")
            && r.tags.get("whittle:break-glass").map(String::as_str) == Some("true"))
            >= 1
    );
    assert!(count(&|r| r.create_date > old) >= 3, "young roles");
    assert!(
        count(&|r| docs(r).iter().any(|d| d.contains(r#""Action":"*""#))) >= 2,
        "admins"
    );
    assert!(count(&|r| docs(r).iter().any(|d| d.contains(r#""Effect":"Deny""#))) >= 5);
    assert!(count(&|r| docs(r).iter().any(|d| d.contains(r#""Condition""#))) >= 5);
    assert!(count(&|r| docs(r).iter().any(|d| d.contains(r#""NotAction""#))) >= 2);
    assert!(count(&|r| docs(r).iter().any(|d| d.contains("NOREPO"))) >= 1);
    let shared: Vec<_> = export
        .managed_policies
        .values()
        .filter(|m| !m.is_aws_managed() && m.attachment_count > 1)
        .collect();
    assert!(shared.len() >= 2, "shared customer managed policies");
    for m in &shared {
        let n = count(&|r| r.attached_policies.contains(&m.arn));
        assert_eq!(n as u32, m.attachment_count, "{}", m.arn);
    }
    assert!(
        export
            .managed_policies
            .values()
            .any(|m| m.is_aws_managed() && m.attachment_count > 0)
    );
    assert!(
        export
            .managed_policies
            .contains_key("arn:aws:iam::aws:policy/AdministratorAccess")
    );
}

#[test]
fn documents_fit_iam_quotas_and_name_real_actions() {
    let files = generate(&options(120, 4)).unwrap();
    let export = parse_authorization_details(&files.authorization_details).unwrap();
    for r in &export.roles {
        let total: usize = r.inline_policies.values().map(|d| iam_size(d)).sum();
        assert!(total < MAX_INLINE_SIZE, "{}: {total}", r.name);
        for d in r.inline_policies.values() {
            assert!(d.len() < MAX_INLINE_SIZE, "{}", r.name);
        }
    }
    let catalogue = Catalogue::embedded();
    let mut docs: Vec<&String> = export
        .roles
        .iter()
        .flat_map(|r| r.inline_policies.values())
        .collect();
    for m in export.managed_policies.values() {
        assert!(iam_size(&m.document) <= MAX_MANAGED_SIZE, "{}", m.arn);
        docs.push(&m.document);
    }
    for d in docs {
        let doc: Value = serde_json::from_str(d).unwrap();
        for s in doc["Statement"].as_array().unwrap() {
            let list = s.get("Action").or_else(|| s.get("NotAction")).unwrap();
            let names: Vec<&str> = match list {
                Value::String(a) => vec![a.as_str()],
                other => other
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|a| a.as_str().unwrap())
                    .collect(),
            };
            for n in names {
                assert!(
                    !catalogue.expand(n).is_empty(),
                    "{n} names catalogue actions"
                );
            }
        }
    }
}

#[test]
fn usage_is_fresh_and_varied_and_most_roles_have_something_to_remove() {
    let o = options(80, 1);
    let files = generate(&o).unwrap();
    let export = parse_authorization_details(&files.authorization_details).unwrap();
    let window = o.now - Duration::days(90);
    let (mut recent, mut stale, mut never, mut tracked) = (0, 0, 0, 0);
    let mut usage = BTreeMap::new();
    for (role, text) in &files.last_accessed {
        let u = parse_last_accessed(text).unwrap();
        assert_eq!(u.observed_at, o.now - Duration::hours(1));
        for s in u.services.values() {
            match s.last_authenticated {
                Some(t) if t >= window => recent += 1,
                Some(_) => stale += 1,
                None => never += 1,
            }
            tracked += s.actions.values().filter(|t| t.is_some()).count();
        }
        usage.insert(role.clone(), u);
    }
    assert!(
        recent > 80 && stale > 20 && never > 100 && tracked > 80,
        "{recent} {stale} {never} {tracked}"
    );

    let planner = Planner::new(Catalogue::embedded(), &Settings::default()).unwrap();
    let plans: Vec<_> = export
        .roles
        .iter()
        .map(|r| planner.plan_role(r, &export.managed_policies, usage.get(&r.name), o.now))
        .collect();
    let changed = plans.iter().filter(|p| p.has_changes()).count();
    let skipped = plans.iter().filter(|p| p.skipped.is_some()).count();
    assert!(
        changed >= 60,
        "{changed} of 80 roles have something to remove"
    );
    assert!((3..=10).contains(&skipped), "{skipped} skipped");
}
