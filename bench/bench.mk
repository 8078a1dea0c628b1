# Benchmarks (docs/BENCHMARKS.md). Not part of `make test`.
#   make bench-quick   in-process harness only (< 60 s); last line: acl_check_ns=.. example_ns=.. native_ns=..
#   make bench         everything: in-process, callgrind, broker CPU, load/reload/RSS/size; writes
#                      build/bench/results.json and docs/benchmarks.svg
.PHONY: bench bench-quick
