//! A line diff (longest common subsequence), enough for policy documents.

use std::fmt;

/// Documents longer than this (in lines) are shown as all removed then all added, to keep
/// the quadratic table small.
const MAX_LINES: usize = 2000;

/// One line of a diff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiffLine {
    Same(String),
    Removed(String),
    Added(String),
}

impl fmt::Display for DiffLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DiffLine::Same(l) => write!(f, "  {l}"),
            DiffLine::Removed(l) => write!(f, "- {l}"),
            DiffLine::Added(l) => write!(f, "+ {l}"),
        }
    }
}

/// The lines of `old` and `new` in order, each marked kept, removed or added.
pub fn line_diff(old: &[&str], new: &[&str]) -> Vec<DiffLine> {
    if old.len() > MAX_LINES || new.len() > MAX_LINES {
        let removed = old.iter().map(|l| DiffLine::Removed((*l).to_string()));
        return removed
            .chain(new.iter().map(|l| DiffLine::Added((*l).to_string())))
            .collect();
    }
    // lcs[i][j]: the longest common subsequence of old[i..] and new[j..].
    let mut lcs = vec![vec![0usize; new.len() + 1]; old.len() + 1];
    for i in (0..old.len()).rev() {
        for j in (0..new.len()).rev() {
            lcs[i][j] = if old[i] == new[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    while i < old.len() || j < new.len() {
        if i < old.len() && j < new.len() && old[i] == new[j] {
            out.push(DiffLine::Same(old[i].to_string()));
            i += 1;
            j += 1;
        } else if i < old.len() && (j == new.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            out.push(DiffLine::Removed(old[i].to_string()));
            i += 1;
        } else {
            out.push(DiffLine::Added(new[j].to_string()));
            j += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_line_shows_as_removed_then_added() {
        let diff = line_diff(&["a", "b", "c"], &["a", "x", "c"]);
        let text: Vec<String> = diff.iter().map(ToString::to_string).collect();
        assert_eq!(text, ["  a", "- b", "+ x", "  c"]);
    }

    #[test]
    fn a_new_document_is_all_added() {
        let diff = line_diff(&[], &["a", "b"]);
        assert_eq!(
            diff,
            [DiffLine::Added("a".into()), DiffLine::Added("b".into())]
        );
    }
}
