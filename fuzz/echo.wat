;; Fuzzing policy for hook_fuzz: every answer depends on every request byte, so the fuzzer's
;; inputs reach every outcome the host must handle: allow, deny, defer, an invalid decision (3),
;; a trap, a psk key that is valid, absent, out of bounds or not hexadecimal. On the way it hands
;; the request bytes to the host functions (topic_matches_sub, log, client_id, pw_verify), and a
;; payload starting with "P" supplies raw (pointer, length) pairs for them, so the host's bounds
;; checks see guest-chosen pointers too.
(module
  (import "mosquitto" "topic_matches_sub" (func $tms (param i32 i32 i32 i32) (result i32)))
  (import "mosquitto" "log" (func $log (param i32 i32 i32)))
  (import "mosquitto" "client_id" (func $client_id (param i32 i32) (result i32)))
  (import "mosquitto" "pw_verify" (func $pw_verify (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  ;; UTF-16LE strings with their byte length at p-4: a valid key "00ff" and a non-hex one "zz".
  (data (i32.const 508) "\08\00\00\00" "0\000\00f\00f\00")
  (data (i32.const 596) "\04\00\00\00" "z\00z\00")

  (func (export "wasm_auth_abi_version") (result i32) (i32.const 1))

  ;; Request buffer from 64 KiB on; memory grows when the host asks for more.
  (func (export "wasm_auth_buffer") (param $size i32) (result i32)
    (local $need i32)
    (local.set $need
      (i32.sub
        (i32.shr_u (i32.add (i32.add (local.get $size) (i32.const 65536)) (i32.const 65535)) (i32.const 16))
        (memory.size)))
    (if (i32.gt_s (local.get $need) (i32.const 0))
      (then (if (i32.lt_s (memory.grow (local.get $need)) (i32.const 0)) (then (return (i32.const 0))))))
    (i32.const 65536))

  (func $ptr (param $d i32) (result i32)
    (if (result i32) (local.get $d) (then (i32.load (local.get $d))) (else (i32.const 0))))
  (func $len (param $d i32) (result i32)
    (if (result i32) (local.get $d) (then (i32.load offset=4 (local.get $d))) (else (i32.const 0))))

  ;; Sum of the bytes of a Str (0 if absent).
  (func $sum (param $d i32) (result i32)
    (local $p i32) (local $end i32) (local $s i32)
    (local.set $p (call $ptr (local.get $d)))
    (local.set $end (i32.add (local.get $p) (call $len (local.get $d))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $s (i32.add (local.get $s) (i32.load8_u (local.get $p))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $next)))
    (local.get $s))

  ;; Host calls with the request's own bytes; returns a number folded into the decision.
  (func $host (param $user i32) (param $pass i32) (param $topic i32) (result i32)
    (local $s i32)
    (local.set $s
      (i32.add
        (call $tms (call $ptr (local.get $topic)) (call $len (local.get $topic))
                   (call $ptr (local.get $topic)) (call $len (local.get $topic)))
        (call $tms (call $ptr (local.get $user)) (call $len (local.get $user))
                   (call $ptr (local.get $topic)) (call $len (local.get $topic)))))
    (local.set $s (i32.add (local.get $s)
      (call $client_id (i32.const 1024) (i32.rem_u (call $len (local.get $user)) (i32.const 300)))))
    ;; A guest log line: the username's bytes taken as UTF-16 (odd lengths included).
    (call $log (i32.and (local.get $s) (i32.const 31)) (call $ptr (local.get $user)) (call $len (local.get $user)))
    (if (i32.and (i32.ne (local.get $pass) (i32.const 0)) (i32.ne (local.get $user) (i32.const 0)))
      (then
        (local.set $s (i32.add (local.get $s)
          (call $pw_verify (call $ptr (local.get $pass)) (call $len (local.get $pass))
                           (call $ptr (local.get $user)) (call $len (local.get $user)))))))
    (local.get $s))

  ;; Payload "P" + four u32: raw pointers and lengths for topic_matches_sub and log.
  (func $raw (param $payload i32) (result i32)
    (local $p i32)
    (if (i32.lt_u (call $len (local.get $payload)) (i32.const 17)) (then (return (i32.const 0))))
    (local.set $p (call $ptr (local.get $payload)))
    (if (i32.ne (i32.load8_u (local.get $p)) (i32.const 0x50)) (then (return (i32.const 0))))
    (call $log (i32.const 1) (i32.load offset=1 (local.get $p)) (i32.load offset=5 (local.get $p)))
    (call $tms (i32.load offset=1 (local.get $p)) (i32.load offset=5 (local.get $p))
               (i32.load offset=9 (local.get $p)) (i32.load offset=13 (local.get $p))))

  ;; 0 deny, 1 allow, 2 defer, 3 an invalid decision, 4 a trap.
  (func $decide (param $s i32) (result i32)
    (local $d i32)
    (local.set $d (i32.rem_u (local.get $s) (i32.const 5)))
    (if (i32.eq (local.get $d) (i32.const 4)) (then unreachable))
    (local.get $d))

  (func (export "unpwd_check") (param $user i32) (param $pass i32) (result i32)
    (call $decide
      (i32.add (i32.add (call $sum (local.get $user)) (call $sum (local.get $pass)))
               (call $host (local.get $user) (local.get $pass) (i32.const 0)))))

  (func (export "acl_check") (param $cid i32) (param $user i32) (param $topic i32) (param $access i32)
                             (param $payload i32) (param $qos i32) (param $retain i32) (result i32)
    (call $decide
      (i32.add
        (i32.add
          (i32.add (call $sum (local.get $cid)) (call $sum (local.get $user)))
          (i32.add (call $sum (local.get $topic)) (call $sum (local.get $payload))))
        (i32.add
          (i32.add (local.get $access) (i32.add (local.get $qos) (local.get $retain)))
          (i32.add (call $host (local.get $user) (i32.const 0) (local.get $topic))
                   (call $raw (local.get $payload)))))))

  ;; 0 no key, 1 a valid key, 2 an out-of-bounds pointer, 3 a non-hex key.
  (func (export "psk_key_get") (param $identity i32) (param $hint i32) (result i32)
    (local $d i32)
    (local.set $d (i32.rem_u
      (i32.add (i32.add (call $sum (local.get $identity)) (call $sum (local.get $hint)))
               (call $host (local.get $identity) (i32.const 0) (local.get $hint)))
      (i32.const 4)))
    (if (i32.eq (local.get $d) (i32.const 1)) (then (return (i32.const 512))))
    (if (i32.eq (local.get $d) (i32.const 2)) (then (return (i32.const 0xfffffff0))))
    (if (i32.eq (local.get $d) (i32.const 3)) (then (return (i32.const 600))))
    (i32.const 0)))
