//! Build script: generates
//! - `errors.rs` (the `Error` enum from `src/errors.txt`, included by `src/error.rs`);
//! - `layout.rs` (profile, type ids, `TYPES`, shadow-stack size, memory cap; included by
//!   `src/rtti.rs` on every target);
//! - `statics.rs` (the static objects, error-message Strings, roots and shadow-stack slots;
//!   included by `src/statics.rs` on wasm32);
//! - `exports_static.rs` (the exported globals `__rtti_base`, `__gc_stack`, `__id_<Name>`,
//!   `__static_<name>`; included by `src/exports.rs` on wasm32);
//! - `asrt_layout.h` and `asrt.ldflags` (the C SDK's generated header and the wasm-ld arguments
//!   before the export list; `scripts/c-sdk.sh` copies them, docs/ABI.md §9);
//!
//! from the layout file: `layout.toml`, or the file `ASRT_LAYOUT` names, with `ASRT_PROFILE`
//! overriding its profile. For the wasm32 cdylib it also passes the memory limits (and, with the
//! `import-memory` feature, `--import-memory --export-memory`) to the linker. The generator lives
//! in `build/` as pure functions so the host tests can run it (tests/layout_gen.rs).
use std::env;
use std::fs;
use std::path::{Path, PathBuf};

#[path = "build/codegen.rs"]
mod codegen;
#[path = "build/errors.rs"]
mod errors;
#[allow(dead_code)]
#[path = "build/layout.rs"]
mod layout;

fn main() {
    let out = PathBuf::from(env::var("OUT_DIR").unwrap());
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    println!("cargo:rerun-if-changed=src/errors.txt");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=build");
    println!("cargo:rerun-if-changed=src/rtti_flags.rs");
    println!("cargo:rerun-if-changed=src/profile.rs");
    println!("cargo:rerun-if-changed=src/block.rs");
    println!("cargo:rerun-if-env-changed=ASRT_LAYOUT");
    println!("cargo:rerun-if-env-changed=ASRT_PROFILE");

    let errors_txt = fs::read_to_string(manifest.join("src/errors.txt")).unwrap();
    let list = errors::parse(&errors_txt);
    fs::write(out.join("errors.rs"), errors::errors_rs(&list)).unwrap();

    // The layout file: a relative ASRT_LAYOUT is relative to the crate root.
    let shown = env::var("ASRT_LAYOUT")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "layout.toml".into());
    let path =
        if Path::new(&shown).is_absolute() { PathBuf::from(&shown) } else { manifest.join(&shown) };
    println!("cargo:rerun-if-changed={}", path.display());
    let text = match fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => fail(&format!("{shown}: cannot read the layout file: {e}")),
    };
    let profile = env::var("ASRT_PROFILE").ok().filter(|s| !s.is_empty());
    let mut layout = match layout::load(&shown, &text, profile.as_deref()) {
        Ok(l) => l,
        Err(msg) => fail(&msg),
    };
    let hosts_asc = env::var_os("CARGO_FEATURE_ASSEMBLYSCRIPT").is_some();
    if hosts_asc {
        // A hosted AssemblyScript program keeps its roots on its own shadow stack; asrt's serves
        // only Rust or C code linked into the same build, so it stays small (4 KiB) and the
        // program's data can start low (ASRT_MEMORY_BASE).
        layout.shadow_stack_slots = layout.shadow_stack_slots.min(ASC_SHADOW_STACK_SLOTS);
    }
    fs::write(out.join("layout.rs"), codegen::layout_rs(&layout)).unwrap();
    fs::write(out.join("statics.rs"), codegen::statics_rs(&layout, &list)).unwrap();
    fs::write(out.join("exports_static.rs"), codegen::exports_static_rs(&layout)).unwrap();
    // The C SDK's generated parts (scripts/c-sdk.sh copies them out of OUT_DIR).
    fs::write(out.join("asrt_layout.h"), codegen::c_layout_h(&layout)).unwrap();
    let import = env::var_os("CARGO_FEATURE_IMPORT_MEMORY").is_some();
    let ldflags = codegen::c_ldflags(&layout, import).join("\n") + "\n";
    fs::write(out.join("asrt.ldflags"), ldflags).unwrap();

    if env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("wasm32") {
        for arg in codegen::link_args(&layout, import) {
            println!("cargo:rustc-link-arg-cdylib={arg}");
        }
        // The other builds' cdylib serves JavaScript (or a host like it): only the runtime runs on
        // its stack, so 64 KiB (rustc's default is 1 MiB, a sixteenth of a 16 MiB heap's
        // memory). C programs linked with libasrt.a keep the 1 MiB stack of `asrt.ldflags`.
        // Behind the `small-stack` feature: Cargo applies these arguments to a dependent's cdylib
        // as well, and a Rust program may need rustc's 1 MiB.
        if !hosts_asc && env::var_os("CARGO_FEATURE_SMALL_STACK").is_some() {
            println!("cargo:rustc-link-arg-cdylib=-zstack-size={RUNTIME_STACK_BYTES}");
        }
        // The `assemblyscript` build puts the hosted program's data at ASRT_MEMORY_BASE (64 KiB,
        // js/loader.mjs), above asrt's stack and statics: its stack is 32 KiB, not 1 MiB (the
        // runtime's deepest path, a checker walk or a static object's trace, needs a few KiB;
        // the program's own frames are on the engine's stack and its shadow stack).
        if hosts_asc {
            println!("cargo:rustc-link-arg-cdylib=-zstack-size=32768");
            // Memory starts at 2 pages: the loader grows it for the program's data, asrt's
            // heap for the rest.
            println!("cargo:rustc-link-arg-cdylib=--initial-memory=131072");
        }
    }
}

/// The native stack of the runtime's own module (not the `assemblyscript` build's, nor a C
/// program's).
const RUNTIME_STACK_BYTES: u32 = 64 << 10;

/// Shadow-stack slots of the `assemblyscript` build (at most; 4 KiB).
const ASC_SHADOW_STACK_SLOTS: u32 = 1024;

/// A malformed layout fails the build with one clear line (cargo prints the script's stderr).
fn fail(msg: &str) -> ! {
    eprintln!("error: invalid asrt layout: {msg}");
    std::process::exit(1)
}
