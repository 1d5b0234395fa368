#!/usr/bin/env bash
# Idempotent setup for a fresh Debian 12 machine that already has rustup/cargo,
# node 20 and npm. Installs only what is missing:
#   - the wasm32-unknown-unknown rustup target (toolchain pinned by rust-toolchain.toml)
#   - Debian packages: chromium, chromium-driver, binaryen (wasm-opt), hyperfine, and clang-19
#     and lld-19 (wasm-ld-19) for the C SDK (scripts/c-sdk.sh, examples/c, tests/c)
#   - wasm-bindgen-cli at the version of `wasm-bindgen` in Cargo.lock
#   - the root npm devDependencies (npm ci) when package.json exists: AssemblyScript, its loaders,
#     and playwright-core (drives Debian's /usr/bin/chromium in the inspector test and bench/run-all.sh;
#     it downloads no browser of its own)
#   - for fuzzing only (fuzz/, scripts/fuzz.sh): a nightly toolchain and cargo-fuzz
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

log() { printf '[setup] %s\n' "$*"; }
die() { printf '[setup] ERROR: %s\n' "$*" >&2; exit 1; }

for tool in rustup cargo node npm; do
  command -v "$tool" >/dev/null 2>&1 || die "'$tool' is not on PATH; install it first (rustup/cargo, node 20, npm)"
done

# --- 1. rust toolchain and target --------------------------------------------
channel="$(sed -n 's/^channel *= *"\([^"]*\)".*/\1/p' rust-toolchain.toml 2>/dev/null | head -n1)"
if [[ -n "$channel" ]]; then
  if rustup toolchain list | grep -q "^${channel}[-[:space:]]"; then
    log "rust toolchain $channel: present"
  else
    log "rust toolchain $channel: installing (pinned by rust-toolchain.toml)"
    rustup toolchain install "$channel" --profile minimal --component rustfmt,clippy
  fi
fi
# Running inside the repo makes rustup use the toolchain pinned in rust-toolchain.toml.
if rustup target list --installed | grep -qx 'wasm32-unknown-unknown'; then
  log "rust target wasm32-unknown-unknown: present"
else
  log "rust target wasm32-unknown-unknown: installing"
  rustup target add wasm32-unknown-unknown
fi

# --- 2. Debian packages ------------------------------------------------------
apt_missing=()
for pkg in chromium chromium-driver binaryen hyperfine clang-19 lld-19; do
  if dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
    log "apt package $pkg: present"
  else
    apt_missing+=("$pkg")
  fi
done
if ((${#apt_missing[@]})); then
  if [[ "$(id -u)" -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    log "apt packages: installing ${apt_missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y --no-install-recommends "${apt_missing[@]}"
  else
    log "WARNING: missing Debian packages: ${apt_missing[*]}"
    log "WARNING: run as root: apt-get update && apt-get install -y ${apt_missing[*]}"
  fi
fi

# --- 3. wasm-bindgen-cli at the Cargo.lock version ---------------------------
if [[ ! -f Cargo.lock ]]; then
  log "Cargo.lock missing: cargo generate-lockfile"
  cargo generate-lockfile
fi
wb_version="$(awk '
  /^\[\[package\]\]/ { inpkg = 0 }
  $0 == "name = \"wasm-bindgen\"" { inpkg = 1; next }
  inpkg && /^version = / { gsub(/"/, "", $3); print $3; exit }
' Cargo.lock)"
[[ -n "$wb_version" ]] || die "no wasm-bindgen package in Cargo.lock (is it a wasm32 dev-dependency in Cargo.toml?)"

wb_installed() {
  local runner bindgen
  runner="$(wasm-bindgen-test-runner --version 2>/dev/null | awk '{print $2}')" || true
  bindgen="$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" || true
  [[ "$runner" == "$wb_version" && "$bindgen" == "$wb_version" ]]
}
# Another `cargo install wasm-bindgen-cli` already running (e.g. started by a
# provisioning step)? Wait for it instead of racing it.
wb_install_running() { pgrep -f 'cargo install wasm-bindgen-cli' >/dev/null 2>&1; }

if wb_installed; then
  log "wasm-bindgen-cli $wb_version: present"
else
  if wb_install_running; then
    log "wasm-bindgen-cli: another 'cargo install' is running; waiting for it (up to 30 min)"
    for _ in $(seq 1 360); do
      wb_install_running || break
      sleep 5
    done
  fi
  if wb_installed; then
    log "wasm-bindgen-cli $wb_version: present"
  else
    log "wasm-bindgen-cli: installing $wb_version"
    # Not --locked: the CLI's own lockfile does not build with this toolchain.
    cargo install wasm-bindgen-cli --version "$wb_version"
    wb_installed || die "wasm-bindgen-cli $wb_version still not on PATH after install (is ~/.cargo/bin on PATH?)"
  fi
fi

# --- 4. npm devDependencies --------------------------------------------------
if [[ -L node_modules ]]; then
  # A worktree that shares another checkout's node_modules through a link: `npm ci` would first
  # empty the directory the link points to (everyone's), then install here. Leave it alone.
  log "npm: node_modules is a link to $(readlink node_modules): left alone (run npm ci there if it is stale)"
elif [[ -f package.json ]]; then
  if [[ -f package-lock.json ]]; then
    if [[ ! -f node_modules/.package-lock.json || node_modules/.package-lock.json -ot package-lock.json ]]; then
      log "npm: npm ci"
      npm ci --no-audit --no-fund
    else
      log "npm: node_modules up to date"
    fi
  elif [[ ! -d node_modules ]]; then
    log "npm: no package-lock.json, npm install"
    npm install --no-audit --no-fund
  else
    log "npm: node_modules present (no package-lock.json)"
  fi
else
  log "npm: no package.json, nothing to install"
fi

# --- 5. fuzzing: nightly toolchain and cargo-fuzz ------------------------------
# Only fuzz/ uses nightly (libFuzzer needs -Zsanitizer and sanitizer coverage); the crate
# itself stays on the toolchain pinned by rust-toolchain.toml.
if rustup toolchain list | grep -q '^nightly-'; then
  log "rust toolchain nightly (fuzzing): present"
else
  log "rust toolchain nightly (fuzzing): installing"
  rustup toolchain install nightly --profile minimal
fi
if command -v cargo-fuzz >/dev/null 2>&1; then
  log "cargo-fuzz: present"
else
  log "cargo-fuzz: installing"
  cargo install cargo-fuzz --locked
  command -v cargo-fuzz >/dev/null 2>&1 || die "cargo-fuzz still not on PATH after install (is ~/.cargo/bin on PATH?)"
fi

log "done"
