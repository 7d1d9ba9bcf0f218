;; kv_get of a key the store does not have: status 2 (not found), nothing written, not even the
;; length; then a key it has, into the same buffer: status 0 and the value's length.
(module
  (import "env" "log_int" (func $log_int (param i32)))
  (import "env" "kv_get" (func $kv_get (param i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "missing:7")
  (data (i32.const 32) "user:7")
  (data (i32.const 64) "\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5")
  ;; 1 if every canary byte in [64, 128) is intact: the suite calls it after `run`.
  (func (export "canaries") (result i32) (local $i i32)
    (local.set $i (i32.const 64))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (i32.const 128)))
      (if (i32.ne (i32.load8_u (local.get $i)) (i32.const 0xC5)) (then (return (i32.const 0))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
    (i32.const 1))
  (func (export "run")
    (call $log_int (call $kv_get (i32.const 16) (i32.const 9) (i32.const 64) (i32.const 32) (i32.const 120)))
    (call $log_int (i32.load (i32.const 120)))
    (call $log_int (call $kv_get (i32.const 32) (i32.const 6) (i32.const 200) (i32.const 32) (i32.const 240)))
    (call $log_int (i32.load (i32.const 240)))))
