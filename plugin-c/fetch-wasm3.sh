#!/bin/sh
# Fetches wasm3's C sources with cargo's own client: crates.io package wasm3x-sys (which ships
# wasm3 v0.9.0 under wasm3/source), checks the .crate against a pinned sha256 and unpacks only
# wasm3/source. Nothing from the crate other than wasm3's own sources is used.
#   fetch-wasm3.sh CRATE_NAME VERSION SHA256 WORKDIR DEST
# WORKDIR holds a throwaway cargo project; DEST receives the sources (DEST/wasm3.h etc.).
set -eu

name=$1 version=$2 sha=$3 work=$4 dest=$5

command -v cargo >/dev/null 2>&1 || {
	echo "fetch-wasm3: cargo is needed to fetch $name $version from crates.io" >&2
	echo "fetch-wasm3: (or build with WASM3_SRC=/path/to/wasm3/source)" >&2
	exit 1
}

mkdir -p "$work/src"
cat > "$work/Cargo.toml" <<TOML
[package]
name = "wasm-auth-wasm3-fetch"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
$name = "=$version"
TOML
: > "$work/src/lib.rs"

# cargo downloads into its registry cache (and verifies the index checksum itself).
cargo fetch --quiet --manifest-path "$work/Cargo.toml"

cargo_home=${CARGO_HOME:-$HOME/.cargo}
crate=
for f in "$cargo_home"/registry/cache/*/"$name-$version.crate"; do
	[ -f "$f" ] && crate=$f
done
[ -n "$crate" ] || { echo "fetch-wasm3: $name-$version.crate not found under $cargo_home/registry/cache" >&2; exit 1; }

got=$(sha256sum "$crate" | cut -d' ' -f1)
if [ "$got" != "$sha" ]; then
	echo "fetch-wasm3: sha256 mismatch for $crate" >&2
	echo "fetch-wasm3:   expected $sha" >&2
	echo "fetch-wasm3:   got      $got" >&2
	exit 1
fi

rm -rf "$work/unpack" "$dest"
mkdir -p "$work/unpack" "$(dirname "$dest")"
tar -xzf "$crate" -C "$work/unpack" "$name-$version/wasm3/source" "$name-$version/wasm3/LICENSE"
mv "$work/unpack/$name-$version/wasm3/source" "$dest"
cp "$work/unpack/$name-$version/wasm3/LICENSE" "$dest/LICENSE.wasm3"
rm -rf "$work/unpack"
echo "fetch-wasm3: $name $version (sha256 $sha) -> $dest"
