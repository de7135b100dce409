//! What exclusion rules cover of one role: the whole role, or some actions. The agent
//! uses it when it plans and applies; the coordinator when it cancels work a new rule
//! covers and when it reports what is excluded.

use chrono::{DateTime, Utc};
use whittle_policy::Role;

use super::exclusion::{ExclusionRules, Selector};

/// What the rules say about one role.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Coverage {
    /// The role is left alone as a whole, with the reason.
    pub whole_role: Option<String>,
    /// Action patterns never removed from the role.
    pub actions: Vec<String>,
}

/// What `rules` protect of `role` in `account_id` at `now` (expired rules play no
/// part). A rule with a Sid prefix protects the whole role: the planner knows a
/// single Sid prefix, and keeping more is the safe side.
pub fn coverage(
    rules: &ExclusionRules,
    account_id: &str,
    role: &Role,
    now: DateTime<Utc>,
) -> Coverage {
    let mut out = Coverage::default();
    for rule in &rules.rules {
        if rule.expires_at.is_some_and(|t| t <= now) || !selects(&rule.selector, account_id, role) {
            continue;
        }
        let s = &rule.selector;
        if s.action_patterns.is_empty() || s.sid_prefix.is_some() {
            if out.whole_role.is_none() {
                out.whole_role = Some(format!("exclusion rule {}: {}", rule.id, rule.reason));
            }
        } else {
            out.actions.extend(s.action_patterns.iter().cloned());
        }
    }
    out.actions.sort();
    out.actions.dedup();
    out
}

fn selects(s: &Selector, account_id: &str, role: &Role) -> bool {
    (s.accounts.is_empty() || s.accounts.contains(account_id))
        && s.role_name_glob
            .as_deref()
            .is_none_or(|g| glob(g.as_bytes(), role.name.as_bytes()))
        && s.path_prefix
            .as_deref()
            .is_none_or(|p| role.path.starts_with(p))
        && s.tags.iter().all(|(k, v)| role.tags.get(k) == Some(v))
}

/// `*` matches any run of characters, `?` one character; the rest literally.
pub(crate) fn glob(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == b'?' || c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::glob;

    #[test]
    fn globs_match_like_a_shell() {
        let m = |p: &str, t: &str| glob(p.as_bytes(), t.as_bytes());
        assert!(m("app-*", "app-reader"));
        assert!(m("*reader", "app-reader"));
        assert!(m("a?p*r", "app-reader"));
        assert!(m("*", ""));
        assert!(!m("app-*", "ci-deployer"));
        assert!(!m("app", "app-reader"));
        assert!(m("*-*-*", "a-b-c"));
        assert!(!m("*-*-*", "a-b"));
    }
}
