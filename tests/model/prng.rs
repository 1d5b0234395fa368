//! A small deterministic PRNG (splitmix64), the same on every target: it drives the wasm
//! tests (no proptest there) and gives the models their content seeds.

use std::vec::Vec;

use super::RawOp;

/// splitmix64's finaliser.
pub fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A small deterministic PRNG (splitmix64), the same on every target.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Self {
        Rng(mix(seed ^ 0x5DEE_CE66_D1CE_4E5B))
    }
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }
    /// The next 32 random bits.
    pub fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }
    /// Uniform in `0..n` (0 when `n == 0`).
    pub fn below(&mut self, n: u32) -> u32 {
        if n == 0 { 0 } else { (self.next_u64() % n as u64) as u32 }
    }
    /// A raw operation.
    pub fn op(&mut self) -> RawOp {
        let w = self.next_u64();
        (w as u8, (w >> 32) as u32, self.next_u32())
    }
    /// `n` raw operations.
    pub fn ops(&mut self, n: usize) -> Vec<RawOp> {
        (0..n).map(|_| self.op()).collect()
    }
}

/// The deterministic payload byte `i` of content `seed`.
pub fn content_byte(seed: u64, i: u32) -> u8 {
    (mix(seed.wrapping_add((i / 8) as u64)) >> (8 * (i % 8))) as u8
}
