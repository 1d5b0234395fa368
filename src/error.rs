//! The runtime's errors. The list lives in `src/errors.txt`; build.rs generates [`Error`] from it
//! (and, for wasm32, the static Strings that carry each message to `env.abort`).

include!(concat!(env!("OUT_DIR"), "/errors.rs"));

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.message())
    }
}
