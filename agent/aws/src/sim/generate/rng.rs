//! The generator's randomness: splitmix64, small and the same on every
//! platform, so a seed gives the same account everywhere.

use chrono::Duration;

/// splitmix64: small, fast and the same on every platform.
#[derive(Debug, Clone)]
pub(super) struct Rng(u64);

impl Rng {
    pub(super) fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub(super) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub(super) fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }

    pub(super) fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    pub(super) fn pick<T: Copy + Default>(&mut self, items: &[T]) -> T {
        let i = self.below(items.len() as u64) as usize;
        items.get(i).copied().unwrap_or_default()
    }

    /// `n` distinct items (all when fewer), in their original order.
    pub(super) fn subset<T: Clone>(&mut self, items: &[T], n: usize) -> Vec<T> {
        let mut idx: Vec<usize> = (0..items.len()).collect();
        let n = n.min(idx.len());
        for i in 0..n {
            let j = i + self.below((idx.len() - i) as u64) as usize;
            idx.swap(i, j);
        }
        let mut chosen = idx[..n].to_vec();
        chosen.sort_unstable();
        chosen.into_iter().map(|i| items[i].clone()).collect()
    }

    /// A duration of `lo..hi` minutes.
    pub(super) fn minutes(&mut self, lo: i64, hi: i64) -> Duration {
        let span = (hi - lo).max(1) as u64;
        Duration::minutes(lo + self.below(span) as i64)
    }

    /// An IAM unique id: a prefix and 17 upper-case letters and digits.
    pub(super) fn unique_id(&mut self, prefix: &str) -> String {
        const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        let tail: String = (0..17)
            .map(|_| char::from(CHARS[self.below(CHARS.len() as u64) as usize]))
            .collect();
        format!("{prefix}{tail}")
    }
}

/// A seed for one purpose: `seed` mixed with `label` (FNV-1a, then splitmix).
pub(super) fn mix(seed: u64, label: &str) -> u64 {
    let mut h: u64 = 0xCBF2_9CE4_8422_2325;
    for b in label.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01B3);
    }
    Rng::new(seed ^ h).next()
}

pub(super) const DAY: i64 = 24 * 60;
