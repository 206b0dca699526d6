//! Keyed random streams: randomness that does not depend on the number of threads.
//!
//! Work that runs in parallel (one training trial's jitter, one bootstrap resample) draws from its
//! own ChaCha8 generator, whose key is built from the user's seed and the item's coordinates. The
//! result is the same whichever thread runs the item and in whatever order.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The generator for item `(a, b)` of stream `domain` under `seed`. `domain` separates the uses
/// (8 ASCII bytes, e.g. `b"msrnnaug"`), so the same seed never gives two uses the same numbers.
pub fn keyed(domain: &[u8; 8], seed: u64, a: u64, b: u64) -> ChaCha8Rng {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8..16].copy_from_slice(&a.to_le_bytes());
    key[16..24].copy_from_slice(&b.to_le_bytes());
    key[24..].copy_from_slice(domain);
    ChaCha8Rng::from_seed(key)
}

#[cfg(test)]
mod tests {
    use super::keyed;
    use rand::RngExt;

    #[test]
    fn every_coordinate_and_the_domain_change_the_stream() {
        let first = |mut r: rand_chacha::ChaCha8Rng| r.random::<u64>();
        let base = first(keyed(b"msrnnaug", 1, 2, 3));
        assert_eq!(base, first(keyed(b"msrnnaug", 1, 2, 3)));
        for other in [
            keyed(b"msrnntun", 1, 2, 3),
            keyed(b"msrnnaug", 0, 2, 3),
            keyed(b"msrnnaug", 1, 0, 3),
            keyed(b"msrnnaug", 1, 2, 0),
        ] {
            assert_ne!(base, first(other));
        }
    }
}
