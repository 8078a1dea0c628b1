#!/bin/sh
# Writes a valid ~1 MB policy module (ABI v1) for the load/validate/instantiate benchmark:
# 3000 functions of straight-line i32 arithmetic (~750 KB of code) plus ~300 KB of data, the ABI
# exports, and an acl_check that calls into the code (it denies everything). Real policies are
# 15-60 KB; this is the size where validation cost would start to show.
# Usage: gen_big_policy.sh OUT.wasm   (needs wat2wasm from wabt)
set -eu
out=$1
wat=${out%.wasm}.wat
awk 'BEGIN {
	nf = 3000; ops = 25; datakb = 300;
	print "(module";
	print "  (memory (export \"memory\") 8)";
	print "  (global $buf (mut i32) (i32.const 4096))";
	print "  (func (export \"wasm_auth_abi_version\") (result i32) i32.const 1)";
	print "  (func (export \"wasm_auth_buffer\") (param i32) (result i32) global.get $buf)";
	for (f = 0; f < nf; f++) {
		printf "  (func $f%d (param i32) (result i32)\n    local.get 0\n", f;
		for (k = 0; k < ops; k++) printf "    i32.const %d i32.add i32.const %d i32.xor\n", (f * 31 + k) % 100000, (k * 7919 + f) % 100000;
		print "  )";
	}
	print "  (func (export \"acl_check\") (param i32 i32 i32 i32) (result i32)";
	print "    local.get 3 call $f0 call $f1499 call $f2999 i32.const 0 i32.and)";
	line = "";
	for (i = 0; i < 1024; i++) line = line "\\de\\ad\\be\\ef";
	for (d = 0; d < datakb / 4; d++) printf "  (data (i32.const %d) \"%s\")\n", 65536 + d * 4096, line;
	print ")";
}' /dev/null > "$wat"
wat2wasm "$wat" -o "$out"
rm -f "$wat"
