//! Wildcard expansion of action patterns against the catalogue.
//!
//! `*`, `svc:*`, `svc:Get*`, `svc:*Object*`, `?`, `*:Get*`, in any case, exactly as
//! IAM matches them. The result is the sorted list of catalogue actions the pattern
//! grants today; a pattern that matches nothing is reported by the caller.

use crate::catalogue::{ActionId, Catalogue};
use crate::glob::Glob;

impl Catalogue {
    /// Every catalogue action `pattern` matches, sorted and without duplicates.
    pub fn expand(&self, pattern: &str) -> Vec<ActionId> {
        let pattern = pattern.trim();
        let Some((svc, action)) = pattern.split_once(':') else {
            // `*` alone matches every action; `s3*` with no colon matches too
            // when IAM's string match reaches across the colon.
            let glob = Glob::new(pattern);
            if glob.as_bytes() == b"*" {
                return (0..self.actions().len() as u32).map(ActionId).collect();
            }
            return self.expand_whole(&glob);
        };
        let svc_glob = Glob::new(svc);
        let action_glob = Glob::new(action);
        if svc_glob.as_bytes().contains(&b':') || action_glob.as_bytes().contains(&b':') {
            // More than one colon: only a whole-string match can tell.
            return self.expand_whole(&Glob::new(pattern));
        }
        if svc_glob.is_literal() {
            // `*` may also span the colon in IAM (`s3*:Get*` is rare); the
            // literal-service case is by far the common one and exact.
            match self.service(svc) {
                Some(s) => self.expand_in(s, &action_glob),
                None => Vec::new(),
            }
        } else {
            // A wildcard in the service part may also swallow the colon, so fall
            // back to matching the whole name when the service glob contains `*`.
            if svc_glob.as_bytes().contains(&b'*') {
                return self.expand_whole(&Glob::new(pattern));
            }
            (0..self.services().len() as u16)
                .filter(|s| svc_glob.matches_lower(self.services()[*s as usize].prefix.as_bytes()))
                .flat_map(|s| self.expand_in(s, &action_glob))
                .collect()
        }
    }

    fn expand_in(&self, service: u16, action_glob: &Glob) -> Vec<ActionId> {
        let range = self.range_with_prefix(service, action_glob.literal_prefix());
        if action_glob.as_bytes() == b"*" {
            return range.map(ActionId).collect();
        }
        range
            .map(ActionId)
            .filter(|id| action_glob.matches_lower(self.action(*id).lower.as_bytes()))
            .collect()
    }

    /// Matches the glob against every `service:action` string (slow path).
    fn expand_whole(&self, glob: &Glob) -> Vec<ActionId> {
        let mut buf = Vec::with_capacity(64);
        let mut out = Vec::new();
        for (i, a) in self.actions().iter().enumerate() {
            buf.clear();
            buf.extend_from_slice(self.services()[a.service as usize].prefix.as_bytes());
            buf.push(b':');
            buf.extend_from_slice(a.lower.as_bytes());
            if glob.matches_lower(&buf) {
                out.push(ActionId(i as u32));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use crate::catalogue::Catalogue;

    /// The counts the catalogue's README gives for checking an implementation.
    #[test]
    fn expansion_matches_the_reference_counts() {
        let c = Catalogue::embedded();
        let cases = [
            ("*", 22_321),
            ("s3:*", 180),
            ("s3:Get*", 63),
            ("s3:get*", 63),
            ("S3:GET*", 63),
            ("s3:*Object*", 50),
            ("s3:?etObject", 1),
            ("iam:*Policy*", 35),
            ("ec2:Describe*", 194),
            ("ec2:*", 826),
            ("*:Get*", 3_358),
            ("nosuch:*", 0),
            ("s3:GetObjcet", 0),
        ];
        for (pattern, want) in cases {
            assert_eq!(c.expand(pattern).len(), want, "{pattern}");
        }
    }

    #[test]
    fn expansion_is_sorted_and_in_canonical_case() {
        let c = Catalogue::embedded();
        let ids = c.expand("s3:?etObject");
        assert_eq!(c.full_name(ids[0]), "s3:GetObject");
        let all = c.expand("*:Get*");
        assert!(all.windows(2).all(|w| w[0] < w[1]));
    }
}
