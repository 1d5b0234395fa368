//! The semantics of the string exports (docs/ABI.md §5) on a [`Runtime`].
//!
//! Every method validates all of its arguments — refs, memory ranges, the UTF-8 input when it
//! must be well-formed, the size of the result — before it allocates, so an error leaves the
//! heap exactly as it was (docs/ABI.md §6).
//!
//! **GC safety.** Allocating may run one bounded GC step, and the refs passed in are not rooted
//! by anyone: an argument that nothing else references could be swept by that very step and its
//! block reused for the result. Every method that reads an argument after allocating therefore
//! allocates through [`Runtime::new_object_keeping`] with the argument refs in `keep`, which makes
//! them survive that step; nothing is pinned, so nothing can fail or grow the pin table. For
//! `string_from_utf8` / `string_from_utf16`, whose input is a raw `(ptr, len)` range, `ptr` is
//! kept too when it is itself a managed object (e.g. an `ArrayBuffer`'s data); a range inside
//! some other managed object is the caller's to keep alive (ranges in `__alloc` blocks, static
//! data or the stack are never collected).
//!
//! Strings are immutable, so results that equal an argument are that argument: `concat` with an
//! empty side returns the other side, and `slice` of the whole string returns the string
//! itself; those calls allocate nothing.

use super::{ops, utf8};
use crate::error::Error;
use crate::memory::Memory;
use crate::object::MAX_PAYLOAD;
use crate::rtti::{ID_ARRAYBUFFER, ID_STRING};
use crate::runtime::Runtime;

impl<M: Memory> Runtime<M> {
    /// Checks that `r` is a String (a live managed heap object or a static object with rtId
    /// `ID_STRING`); returns its length in code units (`rtSize >> 1`). Time: O(1).
    ///
    /// Errors: `NullRef` for 0, the errors of [`Runtime::validate_object`] for anything that is
    /// not a managed object, `NotAString` for a managed object of another type.
    pub fn validate_string(&self, r: u32) -> Result<u32, Error> {
        if r == 0 {
            return Err(Error::NullRef);
        }
        self.validate_object(r)?;
        if self.rt_id(r) != ID_STRING {
            return Err(Error::NotAString);
        }
        Ok(self.rt_size(r) >> 1)
    }

    /// The code units of a validated String `r` of `len` units.
    ///
    /// The slice aliases linear memory: it must not be held across anything that writes the
    /// object (nothing in this module does; allocation never writes a live object).
    #[inline(always)]
    fn units_of(&self, r: u32, len: u32) -> &[u16] {
        // SAFETY: `r` is a validated object (16-aligned, its payload in bounds), so the `len`
        // code units at `r` are readable and aligned for u16.
        unsafe { core::slice::from_raw_parts(self.memory().ptr(r) as *const u16, len as usize) }
    }

    /// The bytes `[ptr, ptr + len)` of linear memory, or `OutOfBounds`.
    fn range_check(&self, ptr: u32, len: u64) -> Result<(), Error> {
        if ptr as u64 + len > self.memory().size() as u64 {
            return Err(Error::OutOfBounds);
        }
        Ok(())
    }

    /// `ptr` as a `keep` entry when it is itself a managed heap object, else 0 (ignored).
    fn keep_if_object(&self, ptr: u32) -> u32 {
        if ptr != 0 && self.validate_managed(ptr).is_ok() { ptr } else { 0 }
    }

    /// `__string_from_utf16(ptr, units)`: a new String holding the `units` UTF-16 code units at
    /// `ptr`, copied as they are (lone surrogates included). `ptr` need not be aligned.
    ///
    /// Errors, before anything is allocated: `OutOfBounds` when `[ptr, ptr + 2 * units)` is not
    /// inside linear memory, `SizeTooLarge` when `2 * units` exceeds the largest payload, and
    /// the allocation's `OutOfMemory`. Time: O(units).
    pub fn string_from_utf16(&mut self, ptr: u32, units: u32) -> Result<u32, Error> {
        let bytes = units as u64 * 2;
        self.range_check(ptr, bytes)?;
        if bytes > MAX_PAYLOAD as u64 {
            return Err(Error::SizeTooLarge);
        }
        let keep = self.keep_if_object(ptr);
        let s = self.new_object_keeping(bytes as u32, ID_STRING, &[keep])?;
        // SAFETY: both ranges are inside memory (checked above / a fresh object); they do not
        // overlap (the source survived the allocation); `copy` allows any alignment.
        unsafe { self.memory().copy(s, ptr, bytes as u32) };
        Ok(s)
    }

    /// `__string_from_utf8(ptr, bytes, replace)`: a new String decoded from the `bytes` bytes
    /// at `ptr` exactly as `new TextDecoder('utf-8', { ignoreBOM: true })` does (see
    /// [`utf8::decode_utf8_into`]): a leading BOM is kept, and with `replace` every maximal
    /// subpart of an ill-formed sequence becomes U+FFFD.
    ///
    /// Errors, before anything is allocated: `OutOfBounds` for a range outside memory,
    /// `InvalidUtf8` when `replace` is false and the input is not well-formed UTF-8,
    /// `SizeTooLarge`, `OutOfMemory`. Time: O(bytes), two passes (exact length, then decode).
    pub fn string_from_utf8(&mut self, ptr: u32, bytes: u32, replace: bool) -> Result<u32, Error> {
        self.range_check(ptr, bytes as u64)?;
        let units = {
            // SAFETY: the range is inside memory (checked above).
            let input = unsafe {
                core::slice::from_raw_parts(self.memory().ptr(ptr) as *const u8, bytes as usize)
            };
            utf8::utf16_len_of_utf8(input, replace).map_err(|_| Error::InvalidUtf8)?
        };
        let size = units as u64 * 2;
        if size > MAX_PAYLOAD as u64 {
            return Err(Error::SizeTooLarge);
        }
        let keep = self.keep_if_object(ptr);
        let s = self.new_object_keeping(size as u32, ID_STRING, &[keep])?;
        let mem = self.memory();
        // SAFETY: the input range is inside memory and survived the allocation; the output is
        // the fresh object's payload of `units` code units, 16-aligned, disjoint from the input.
        let (input, out) = unsafe {
            (
                core::slice::from_raw_parts(mem.ptr(ptr) as *const u8, bytes as usize),
                core::slice::from_raw_parts_mut(mem.ptr(s) as *mut u16, units),
            )
        };
        let written = utf8::decode_utf8_into(input, out);
        debug_assert_eq!(written, units);
        Ok(s)
    }

    /// `__string_utf8_length(ref)`: the number of bytes `__string_to_utf8(ref, 0)` produces,
    /// i.e. `new TextEncoder().encode(s).length` (lone surrogates count 3 bytes, as U+FFFD).
    ///
    /// Errors: those of [`Runtime::validate_string`]. Time: O(length). Allocates nothing.
    pub fn string_utf8_length(&self, r: u32) -> Result<u32, Error> {
        let len = self.validate_string(r)?;
        Ok(utf8::utf8_len_of_utf16(self.units_of(r, len)) as u32)
    }

    /// `__string_to_utf8(ref, nullTerminated)`: a new ArrayBuffer holding the UTF-8 encoding of
    /// the String, exactly as `new TextEncoder().encode(s)` (lone surrogates become `EF BF BD`),
    /// followed by one 0 byte when `null_terminated`.
    ///
    /// Errors, before anything is allocated: those of [`Runtime::validate_string`],
    /// `SizeTooLarge`, `OutOfMemory`. Time: O(length), two passes.
    pub fn string_to_utf8(&mut self, r: u32, null_terminated: bool) -> Result<u32, Error> {
        let len = self.validate_string(r)?;
        let n = utf8::utf8_len_of_utf16(self.units_of(r, len)) as u64 + null_terminated as u64;
        if n > MAX_PAYLOAD as u64 {
            return Err(Error::SizeTooLarge);
        }
        let buf = self.new_object_keeping(n as u32, ID_ARRAYBUFFER, &[r])?;
        let mem = self.memory();
        // SAFETY: `r` survived the allocation (kept) and is disjoint from the fresh buffer of
        // `n` bytes; the terminator, if any, is already 0 (new objects are zeroed).
        let (units, out) = unsafe {
            (
                core::slice::from_raw_parts(mem.ptr(r) as *const u16, len as usize),
                core::slice::from_raw_parts_mut(mem.ptr(buf), n as usize),
            )
        };
        let written = utf8::encode_utf8_into(units, out);
        debug_assert_eq!(written as u64 + null_terminated as u64, n);
        Ok(buf)
    }

    /// `__string_concat(a, b)`: the String `a + b`. When one side is empty the result is the
    /// other side itself (no allocation).
    ///
    /// Errors, before anything is allocated: those of [`Runtime::validate_string`] for either
    /// argument, `SizeTooLarge`, `OutOfMemory`. Time: O(a.length + b.length).
    pub fn string_concat(&mut self, a: u32, b: u32) -> Result<u32, Error> {
        let la = self.validate_string(a)?;
        let lb = self.validate_string(b)?;
        if lb == 0 {
            return Ok(a);
        }
        if la == 0 {
            return Ok(b);
        }
        let (ba, bb) = (la as u64 * 2, lb as u64 * 2);
        if ba + bb > MAX_PAYLOAD as u64 {
            return Err(Error::SizeTooLarge);
        }
        let s = self.new_object_keeping((ba + bb) as u32, ID_STRING, &[a, b])?;
        let mem = self.memory();
        // SAFETY: `a` and `b` survived the allocation (kept); the fresh object has room for both.
        unsafe {
            mem.copy(s, a, ba as u32);
            mem.copy(s + ba as u32, b, bb as u32);
        }
        Ok(s)
    }

    /// `__string_equals(a, b)`: whether the two Strings have the same code units.
    ///
    /// Errors: those of [`Runtime::validate_string`] for either argument. Time: O(length), O(1)
    /// for the same ref or different lengths. Allocates nothing.
    pub fn string_equals(&self, a: u32, b: u32) -> Result<bool, Error> {
        let la = self.validate_string(a)?;
        let lb = self.validate_string(b)?;
        Ok(a == b || (la == lb && ops::equals_utf16(self.units_of(a, la), self.units_of(b, lb))))
    }

    /// `__string_compare(a, b)`: -1, 0 or 1 as `a < b`, equal, `a > b` in JavaScript (by UTF-16
    /// code unit, see [`ops::compare_utf16`]).
    ///
    /// Errors: those of [`Runtime::validate_string`] for either argument. Time: O(common
    /// prefix). Allocates nothing.
    pub fn string_compare(&self, a: u32, b: u32) -> Result<i32, Error> {
        let la = self.validate_string(a)?;
        let lb = self.validate_string(b)?;
        if a == b {
            return Ok(0);
        }
        Ok(ops::compare_utf16(self.units_of(a, la), self.units_of(b, lb)))
    }

    /// `__string_hash(ref)`: [`ops::hash_utf16`] of the String's code units (XXH32 of the
    /// UTF-16LE bytes, seed 0); equal contents give equal hashes.
    ///
    /// Errors: those of [`Runtime::validate_string`]. Time: O(length). Allocates nothing.
    pub fn string_hash(&self, r: u32) -> Result<u32, Error> {
        let len = self.validate_string(r)?;
        Ok(ops::hash_utf16(self.units_of(r, len)))
    }

    /// `__string_slice(ref, start, end)`: `s.slice(start, end)` in JavaScript (see
    /// [`ops::slice_range`]). The whole string is returned as itself (no allocation); any
    /// other range, empty included, is a new String.
    ///
    /// Errors, before anything is allocated: those of [`Runtime::validate_string`],
    /// `OutOfMemory`. Time: O(result length).
    pub fn string_slice(&mut self, r: u32, start: i32, end: i32) -> Result<u32, Error> {
        let len = self.validate_string(r)?;
        let (from, to) = ops::slice_range(len as usize, start, end);
        if from == 0 && to == len as usize {
            return Ok(r);
        }
        let bytes = ((to - from) * 2) as u32;
        let s = self.new_object_keeping(bytes, ID_STRING, &[r])?;
        // SAFETY: `r` survived the allocation (kept); `[from, to)` lies inside it.
        unsafe { self.memory().copy(s, r + from as u32 * 2, bytes) };
        Ok(s)
    }
}
