//! The exclusion rules the agent holds: persisted in the data directory
//! (`exclusions.json`, replaced atomically), published on a `watch` channel, and
//! turned into what protects one role at apply time.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
pub use whittle_proto::convert::coverage::{Coverage, coverage};
use whittle_proto::convert::{ExclusionRule, ExclusionRules, Selector};

use super::LinkError;

/// The file, in the data directory, that keeps the newest rules.
pub const FILE_NAME: &str = "exclusions.json";

/// The newest rules, on disk and on a `watch` channel.
#[derive(Debug)]
pub struct RuleStore {
    path: PathBuf,
    tx: watch::Sender<ExclusionRules>,
}

impl RuleStore {
    /// Loads the rules kept in `data_dir` (none yet: version 0, no rules).
    pub fn open(data_dir: &Path) -> Result<RuleStore, LinkError> {
        let path = data_dir.join(FILE_NAME);
        let rules = match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str::<RulesFile>(&text)
                .map_err(|e| LinkError::Rules {
                    path: path.clone(),
                    problem: e.to_string(),
                })?
                .into(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => ExclusionRules::default(),
            Err(e) => {
                return Err(LinkError::Rules {
                    path,
                    problem: e.to_string(),
                });
            }
        };
        let (tx, _) = watch::channel(rules);
        Ok(RuleStore { path, tx })
    }

    /// Follows the newest rules.
    pub fn subscribe(&self) -> watch::Receiver<ExclusionRules> {
        self.tx.subscribe()
    }

    /// The newest rules.
    pub fn current(&self) -> ExclusionRules {
        self.tx.borrow().clone()
    }

    /// Keeps `rules` when they are at least as new as those held; returns the
    /// version held afterwards. The file is written before the channel changes.
    pub fn replace(&self, rules: ExclusionRules) -> Result<u64, LinkError> {
        let held = self.tx.borrow().version;
        if rules.version < held {
            return Ok(held);
        }
        let fail = |problem: String| LinkError::Rules {
            path: self.path.clone(),
            problem,
        };
        let text = serde_json::to_string_pretty(&RulesFile::from(&rules))
            .map_err(|e| fail(e.to_string()))?;
        let tmp = self.path.with_extension("json.tmp");
        write_synced(&tmp, text.as_bytes()).map_err(|e| fail(e.to_string()))?;
        std::fs::rename(&tmp, &self.path).map_err(|e| fail(e.to_string()))?;
        let version = rules.version;
        self.tx.send_replace(rules);
        Ok(version)
    }
}

fn write_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut file = std::fs::File::create(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// `exclusions.json`: the rules as the agent keeps them.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    version: u64,
    rules: Vec<RuleFile>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    id: String,
    reason: String,
    author: String,
    expires_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    accounts: BTreeSet<String>,
    role_name_glob: Option<String>,
    path_prefix: Option<String>,
    tags: BTreeMap<String, String>,
    action_patterns: Vec<String>,
    sid_prefix: Option<String>,
}

impl From<&ExclusionRules> for RulesFile {
    fn from(rules: &ExclusionRules) -> Self {
        let rule = |r: &ExclusionRule| {
            let s = r.selector.clone();
            RuleFile {
                id: r.id.clone(),
                reason: r.reason.clone(),
                author: r.author.clone(),
                expires_at: r.expires_at,
                created_at: r.created_at,
                accounts: s.accounts,
                role_name_glob: s.role_name_glob,
                path_prefix: s.path_prefix,
                tags: s.tags,
                action_patterns: s.action_patterns,
                sid_prefix: s.sid_prefix,
            }
        };
        RulesFile {
            version: rules.version,
            rules: rules.rules.iter().map(rule).collect(),
        }
    }
}

impl From<RulesFile> for ExclusionRules {
    fn from(file: RulesFile) -> Self {
        let rule = |r: RuleFile| ExclusionRule {
            id: r.id,
            selector: Selector {
                accounts: r.accounts,
                role_name_glob: r.role_name_glob,
                path_prefix: r.path_prefix,
                tags: r.tags,
                action_patterns: r.action_patterns,
                sid_prefix: r.sid_prefix,
            },
            reason: r.reason,
            author: r.author,
            expires_at: r.expires_at,
            created_at: r.created_at,
        };
        ExclusionRules {
            version: file.version,
            rules: file.rules.into_iter().map(rule).collect(),
        }
    }
}

#[cfg(test)]
mod tests;
