;; Bulk memory instructions under fuel metering (docs/SECURITY.md, "Fuel metering": price list).
;; test_meter.c runs it metered in wasm3, sdk/host/test/fuel.test.ts in V8.
;;
;; Each of fill, copy, init and grow runs its instruction in a loop, `iters` times (0: until the
;; fuel runs out), and counts the runs in the exported global `count`. Each function is 15
;; instructions; its loop is 13 (grow's 12), the bulk instruction's own unit included, so each
;; iteration after the first costs that plus the instruction's price.
;;   fill(len, iters)             memory.fill 0, 0, len
;;   copy(dst, src, len, iters)   memory.copy dst, src, len
;;   init(len, iters)             memory.init $seg 0, 0, len (the segment is 64 bytes)
;;   grow(pages, iters) -> r      memory.grow pages; r = the last result (-1: refused)
;;   mix(n) -> sum                fill, init, copy, grow(0) with locals of its own around them,
;;                                then a checksum of the memory they wrote: the same metered or not
;;   spin(n) -> n                 ordinary code, for the calibration (bench/bulk-v8.ts): 7
;;                                instructions per iteration, as meter_wasm3.h's spin
(module
  (memory (export "memory") 256 512)
  (global $count (export "count") (mut i32) (i32.const 0))
  (data $seg "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")

  (func (export "fill") (param $len i32) (param $iters i32)
    (loop $l
      (memory.fill (i32.const 0) (i32.const 0) (local.get $len))
      (global.set $count (i32.add (global.get $count) (i32.const 1)))
      (br_if $l (i32.ne (global.get $count) (local.get $iters)))))

  (func (export "copy") (param $dst i32) (param $src i32) (param $len i32) (param $iters i32)
    (loop $l
      (memory.copy (local.get $dst) (local.get $src) (local.get $len))
      (global.set $count (i32.add (global.get $count) (i32.const 1)))
      (br_if $l (i32.ne (global.get $count) (local.get $iters)))))

  (func (export "init") (param $len i32) (param $iters i32)
    (loop $l
      (memory.init $seg (i32.const 0) (i32.const 0) (local.get $len))
      (global.set $count (i32.add (global.get $count) (i32.const 1)))
      (br_if $l (i32.ne (global.get $count) (local.get $iters)))))

  (func (export "grow") (param $pages i32) (param $iters i32) (result i32)
    (local $r i32)
    (loop $l
      (local.set $r (memory.grow (local.get $pages)))
      (global.set $count (i32.add (global.get $count) (i32.const 1)))
      (br_if $l (i32.ne (global.get $count) (local.get $iters))))
    (local.get $r))

  (func (export "mix") (param $n i32) (result i32)
    (local $i i32) (local $sum i32) (local $wide i64) (local $f f64)
    (local.set $wide (i64.const 0x100000001))
    (local.set $f (f64.const 1.5))
    (memory.fill (i32.const 0) (i32.const 7) (local.get $n))
    (memory.init $seg (i32.const 100) (i32.const 0) (i32.const 64))
    (memory.copy (i32.const 130) (i32.const 100) (i32.const 64))
    (local.set $sum (i32.add (memory.grow (i32.const 0)) (i32.wrap_i64 (local.get $wide))))
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $i) (i32.add (local.get $n) (i32.const 200))))
        (local.set $sum (i32.add (local.get $sum)
          (i32.mul (i32.load8_u (local.get $i)) (i32.add (local.get $i) (i32.const 1)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l)))
    (i32.add (local.get $sum) (i32.trunc_f64_s (local.get $f))))

  (func (export "spin") (param $n i32) (result i32)
    (local $i i32)
    (loop $l
      (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $n))))
    (local.get $i))
)
