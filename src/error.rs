//! The runtime's errors. The list lives in `src/errors.txt`; build.rs generates [`Error`] from it
//! (and, for wasm32, the static Strings that carry each message to `env.abort`).

include!(concat!(env!("OUT_DIR"), "/errors.rs"));

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.message())
    }
}

impl Error {
    /// The error of a packed code (`error + 1`, as [`PackedResult`] and the exports' results
    /// carry it); a code outside the list cannot be packed, and reads as `BadArgument`.
    #[inline]
    pub(crate) fn from_code(code: u32) -> Error {
        Error::ALL.get(code.wrapping_sub(1) as usize).copied().unwrap_or(Error::BadArgument)
    }
}

/// A `Result<u32, Error>` in one `u64`: the value in the low half, `error + 1` in the high half
/// (0 for `Ok`). On wasm32 an 8-byte `Result` comes back from a call through memory, so its
/// caller reserves a frame on the native stack on every call, whichever path it takes; a `u64`
/// comes back in a register. For the cold functions that hot paths call on failure.
#[derive(Clone, Copy)]
pub(crate) struct PackedResult(u64);

impl PackedResult {
    /// Packs `r`.
    #[inline(always)]
    pub(crate) fn new(r: Result<u32, Error>) -> Self {
        match r {
            Ok(v) => PackedResult(v as u64),
            Err(e) => PackedResult(((e as u64) + 1) << 32),
        }
    }

    /// The result again.
    #[inline(always)]
    pub(crate) fn get(self) -> Result<u32, Error> {
        match (self.0 >> 32) as u32 {
            0 => Ok(self.0 as u32),
            code => Err(Error::from_code(code)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_results_come_back_unchanged() {
        for v in [0, 1, 16, 0x7fff_fff0, u32::MAX] {
            assert_eq!(PackedResult::new(Ok(v)).get(), Ok(v));
        }
        for &e in Error::ALL {
            assert_eq!(PackedResult::new(Err(e)).get(), Err(e));
        }
        assert_eq!(Error::from_code(0), Error::BadArgument, "0 is no error's code");
        assert_eq!(Error::from_code(Error::ALL.len() as u32 + 1), Error::BadArgument);
    }
}
