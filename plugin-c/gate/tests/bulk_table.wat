;; Bulk table instructions under fuel metering (docs/SECURITY.md, "Fuel metering": price list).
;; The plugin's wasm3 is built without reference types, so it runs neither table.copy nor
;; table.init (nor passive element segments): sdk/host/test/fuel.test.ts runs this metered in V8,
;; and test_meter.c only checks that it meters into a valid module.
;;
;; As in bulk.wat, each function is 15 instructions, its loop 13, and counts its runs in `count`:
;;   tcopy(dst, src, len, iters)   table.copy dst, src, len (the table has 10000 elements)
;;   tinit(len, iters)             table.init $seg 0, 0, len (the segment has 8 elements)
;;   call(i) -> i                  call_indirect through the table: what the copies moved works
(module
  (type $ii (func (param i32) (result i32)))
  (table 10000 funcref)
  (global $count (export "count") (mut i32) (i32.const 0))
  (elem $seg func $id $id $id $id $id $id $id $id)
  (func $id (param i32) (result i32) (local.get 0))

  (func (export "tcopy") (param $dst i32) (param $src i32) (param $len i32) (param $iters i32)
    (loop $l
      (table.copy (local.get $dst) (local.get $src) (local.get $len))
      (global.set $count (i32.add (global.get $count) (i32.const 1)))
      (br_if $l (i32.ne (global.get $count) (local.get $iters)))))

  (func (export "tinit") (param $len i32) (param $iters i32)
    (loop $l
      (table.init $seg (i32.const 0) (i32.const 0) (local.get $len))
      (global.set $count (i32.add (global.get $count) (i32.const 1)))
      (br_if $l (i32.ne (global.get $count) (local.get $iters)))))

  (func (export "call") (param $i i32) (result i32)
    (call_indirect (type $ii) (local.get $i) (local.get $i)))
)
