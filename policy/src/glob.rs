//! Case-insensitive IAM wildcard matching (`*` any run of characters, `?` exactly one).
//!
//! IAM compares action names without regard to case, so every function here
//! works on ASCII-lowercased bytes. Patterns are lowered once by [`Glob::new`].

/// A compiled, lowercased wildcard pattern.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Glob {
    lower: Vec<u8>,
}

impl Glob {
    /// Compiles `pattern`; any string is a valid glob.
    pub fn new(pattern: &str) -> Self {
        Glob {
            lower: pattern.as_bytes().to_ascii_lowercase(),
        }
    }

    /// The lowercased pattern text.
    pub fn as_bytes(&self) -> &[u8] {
        &self.lower
    }

    /// True when the pattern holds no `*` or `?`.
    pub fn is_literal(&self) -> bool {
        !self.lower.iter().any(|b| *b == b'*' || *b == b'?')
    }

    /// The literal run before the first wildcard.
    pub fn literal_prefix(&self) -> &[u8] {
        let end = self
            .lower
            .iter()
            .position(|b| *b == b'*' || *b == b'?')
            .unwrap_or(self.lower.len());
        &self.lower[..end]
    }

    /// Does the pattern match `text` (already lowercase) in full?
    pub fn matches_lower(&self, text: &[u8]) -> bool {
        match_bytes(&self.lower, text)
    }

    /// Does the pattern match `text` in full, ignoring case?
    pub fn matches(&self, text: &str) -> bool {
        if text.bytes().any(|b| b.is_ascii_uppercase()) {
            self.matches_lower(&text.as_bytes().to_ascii_lowercase())
        } else {
            self.matches_lower(text.as_bytes())
        }
    }

    /// Does the pattern match *every* string that starts with `prefix`?
    ///
    /// True when the pattern ends in `*` and the part before that star matches
    /// some prefix of `prefix`. This is the test that lets the rewrite emit a
    /// wildcard such as `s3:Get*` only where the original pattern already
    /// covered everything it could ever match, including actions AWS adds later.
    pub fn covers_all_starting_with(&self, prefix: &str) -> bool {
        let Some(head) = self.lower.strip_suffix(b"*") else {
            return false;
        };
        let p = prefix.as_bytes().to_ascii_lowercase();
        (0..=p.len()).any(|k| match_bytes(head, &p[..k]))
    }

    /// Could the pattern match *some* string that starts with `prefix`?
    ///
    /// Simulates the pattern as an automaton over `prefix`: if any state is
    /// still alive after the prefix, a suitable suffix completes a match
    /// (every remaining `?`, `*` or literal can be satisfied).
    pub fn may_match_starting_with(&self, prefix: &str) -> bool {
        let p = prefix.as_bytes().to_ascii_lowercase();
        let n = self.lower.len();
        // states[i] == pattern position i is reachable.
        let mut states = vec![false; n + 1];
        states[0] = true;
        close_stars(&self.lower, &mut states);
        for &c in &p {
            let mut next = vec![false; n + 1];
            for i in 0..n {
                if !states[i] {
                    continue;
                }
                match self.lower[i] {
                    b'*' => next[i] = true,
                    b'?' => next[i + 1] = true,
                    lit if lit == c => next[i + 1] = true,
                    _ => {}
                }
            }
            close_stars(&self.lower, &mut next);
            if !next.iter().any(|s| *s) {
                return false;
            }
            states = next;
        }
        states.iter().any(|s| *s)
    }
}

/// A `*` may match nothing: a reachable star makes the position after it reachable.
fn close_stars(pattern: &[u8], states: &mut [bool]) {
    for i in 0..pattern.len() {
        if states[i] && pattern[i] == b'*' {
            states[i + 1] = true;
        }
    }
}

/// Classic linear-space wildcard match with single-star backtracking.
fn match_bytes(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == b'?' || pattern[p] == text[t]) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, t));
            p += 1;
        } else if let Some((sp, st)) = star {
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|b| *b == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_like_iam() {
        let cases = [
            ("s3:Get*", "s3:GetObject", true),
            ("s3:get*", "S3:GETOBJECT", true),
            ("s3:*Object*", "s3:PutObjectAcl", true),
            ("s3:?etObject", "s3:GetObject", true),
            ("s3:?etObject", "s3:GGetObject", false),
            ("*", "anything:At", true),
            ("s3:Get", "s3:GetObject", false),
            ("*:Get*", "ec2:GetConsoleOutput", true),
            ("a*b*c", "abbbc", true),
            ("a*b*c", "abbb", false),
            ("", "", true),
        ];
        for (p, t, want) in cases {
            assert_eq!(Glob::new(p).matches(t), want, "{p} vs {t}");
        }
    }

    #[test]
    fn covers_and_may_match_prefixes() {
        assert!(Glob::new("s3:*").covers_all_starting_with("s3:Get"));
        assert!(Glob::new("*").covers_all_starting_with("s3:"));
        assert!(Glob::new("s3:Get*").covers_all_starting_with("s3:GetObject"));
        assert!(!Glob::new("s3:GetObject*").covers_all_starting_with("s3:Get"));
        assert!(Glob::new("s3:*Object*").covers_all_starting_with("s3:GetObjectA"));
        assert!(!Glob::new("s3:GetObject").covers_all_starting_with("s3:GetObject"));
        assert!(Glob::new("s3:GetObject").may_match_starting_with("s3:Get"));
        assert!(!Glob::new("s3:PutObject").may_match_starting_with("s3:Get"));
        assert!(Glob::new("*:Delete*").may_match_starting_with("s3:"));
        assert!(!Glob::new("iam:*").may_match_starting_with("s3:"));
        assert!(Glob::new("s3:?et*").may_match_starting_with("s3:GetO"));
    }
}
