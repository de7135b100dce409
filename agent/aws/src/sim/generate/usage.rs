//! The access advisor report of a generated role: every service its Allow
//! statements grant, used recently, long ago or never, with the tracked
//! actions of used services.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value, json};
use whittle_policy::catalogue::Tracking;

use super::rng::DAY;
use super::roles::RoleSpec;
use super::{Generator, policy_document, time};

impl Generator {
    /// Every catalogue action the role's Allow statements grant (inline and
    /// attached; the boundary grants nothing), by index.
    pub(super) fn granted(&self, role: &RoleSpec) -> Vec<bool> {
        let n = self.catalogue.actions().len();
        let mut granted = vec![false; n];
        let mut docs: Vec<Value> = role
            .inline
            .iter()
            .map(|(_, s)| policy_document(s))
            .collect();
        docs.extend(role.attached.iter().map(|m| self.managed_document(*m)));
        for doc in &docs {
            let Some(statements) = doc["Statement"].as_array() else {
                continue;
            };
            for s in statements.iter().filter(|s| s["Effect"] == "Allow") {
                let patterns = |v: &Value| -> Vec<String> {
                    match v {
                        Value::String(p) => vec![p.clone()],
                        Value::Array(ps) => ps
                            .iter()
                            .filter_map(|p| p.as_str().map(str::to_string))
                            .collect(),
                        _ => Vec::new(),
                    }
                };
                if let Some(action) = s.get("Action") {
                    for p in patterns(action) {
                        for id in self.catalogue.expand(&p) {
                            granted[id.index()] = true;
                        }
                    }
                } else if let Some(not) = s.get("NotAction") {
                    let mut excluded = vec![false; n];
                    for p in patterns(not) {
                        for id in self.catalogue.expand(&p) {
                            excluded[id.index()] = true;
                        }
                    }
                    for (g, e) in granted.iter_mut().zip(excluded) {
                        *g |= !e;
                    }
                }
            }
        }
        granted
    }

    pub(super) fn arn_of(&self, role: &RoleSpec) -> String {
        format!(
            "arn:aws:iam::{}:role{}{}",
            self.account, role.path, role.name
        )
    }

    /// The role's access advisor report (an `ACTION_LEVEL` job that completed
    /// an hour before `now`) and the role's last use.
    pub(super) fn usage_report(&mut self, role: &RoleSpec) -> (Value, Option<DateTime<Utc>>) {
        let granted = self.granted(role);
        let arn = self.arn_of(role);
        let mut entries: Vec<(String, Value)> = Vec::new();
        let mut last_used: Option<DateTime<Utc>> = None;
        let catalogue = self.catalogue;
        for service in catalogue.services() {
            let range = service.actions.start as usize..service.actions.end as usize;
            if !granted[range.clone()].iter().any(|g| *g) {
                continue;
            }
            let tracked: Vec<usize> = range
                .filter(|i| granted[*i] && catalogue.actions()[*i].tracking == Tracking::Tracked)
                .collect();
            let prefix = service.prefix.as_str();
            let last = if role.recent.contains(prefix) {
                Some(self.recent_time(role.created))
            } else if role.stale.contains(prefix) {
                self.stale_time(role.created)
            } else {
                None
            };
            let mut entry = Map::new();
            entry.insert("ServiceName".into(), json!(service.name));
            if let Some(t) = last {
                entry.insert("LastAuthenticated".into(), json!(time(t)));
            }
            entry.insert("ServiceNamespace".into(), json!(prefix));
            if let Some(t) = last {
                entry.insert("LastAuthenticatedEntity".into(), json!(arn));
                entry.insert("LastAuthenticatedRegion".into(), json!(self.region));
                last_used = last_used.max(Some(t));
            }
            entry.insert(
                "TotalAuthenticatedEntities".into(),
                json!(u8::from(last.is_some())),
            );
            if let Some(t) = last {
                let actions = self.tracked_actions(role, prefix, &tracked, t, &arn);
                entry.insert("TrackedActionsLastAccessed".into(), json!(actions));
            }
            entries.push((service.name.to_lowercase(), Value::Object(entry)));
        }
        // The console and CLI list services by name, ignoring case.
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        let report = json!({
            "JobStatus": "COMPLETED",
            "JobType": "ACTION_LEVEL",
            "JobCreationDate": time(self.completed - Duration::seconds(7)),
            "ServicesLastAccessed": entries.into_iter().map(|(_, e)| e).collect::<Vec<_>>(),
            "JobCompletionDate": time(self.completed),
            "IsTruncated": false
        });
        (report, last_used)
    }

    /// Within the last 30 days, and after the role was created.
    pub(super) fn recent_time(&mut self, created: DateTime<Utc>) -> DateTime<Utc> {
        let lifetime = (self.completed - created).num_minutes();
        let span = lifetime.clamp(2, 30 * DAY);
        self.completed - self.rng.minutes(1, span)
    }

    /// More than 95 days ago (the default window is 90), if the role is that old.
    pub(super) fn stale_time(&mut self, created: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let lifetime = (self.completed - created).num_minutes();
        if lifetime <= 96 * DAY {
            return None;
        }
        Some(self.completed - self.rng.minutes(95 * DAY, lifetime.min(400 * DAY)))
    }

    /// The granted tracked actions of a used service: the ones the role's code
    /// calls (most of them) at `last` or before, a few long ago, the rest never.
    pub(super) fn tracked_actions(
        &mut self,
        role: &RoleSpec,
        prefix: &str,
        tracked: &[usize],
        last: DateTime<Utc>,
        arn: &str,
    ) -> Vec<Value> {
        let actions = self.catalogue.actions();
        let mut used: Vec<usize> = tracked
            .iter()
            .copied()
            .filter(|i| {
                role.hot
                    .contains(&format!("{prefix}:{}", actions[*i].lower))
            })
            .filter(|_| self.rng.chance(75))
            .collect();
        if used.is_empty() {
            let n = 1 + self.rng.below(3) as usize;
            used = self.rng.subset(tracked, n);
        }
        let stale_candidates: Vec<usize> = tracked
            .iter()
            .copied()
            .filter(|i| !used.contains(i))
            .collect();
        let n_stale = self.rng.below(3) as usize;
        let stale = self.rng.subset(&stale_candidates, n_stale);
        let floor = role.created + Duration::minutes(1);
        let mut out = Vec::with_capacity(tracked.len());
        for i in tracked {
            let name = &actions[*i].name;
            let when = if used.contains(i) {
                // The most recent use of the service is one of its actions.
                if used.first() == Some(i) {
                    Some(last)
                } else {
                    Some((last - self.rng.minutes(0, 20 * DAY)).max(floor))
                }
            } else if stale.contains(i) {
                let t = last - self.rng.minutes(100 * DAY, 300 * DAY);
                (t > floor).then_some(t)
            } else {
                None
            };
            out.push(match when {
                Some(t) => json!({
                    "ActionName": name,
                    "LastAccessedEntity": arn,
                    "LastAccessedTime": time(t),
                    "LastAccessedRegion": self.region
                }),
                None => json!({"ActionName": name}),
            });
        }
        out
    }
}
