;; A handler that loops 100,000 times, then echoes its request: well within the deadline on every
;; runtime, so it returns (a deadline that fires early would fail it).
(module
  (import "env" "log_int" (func $log_int (param i32)))
  (import "env" "request_read" (func $request_read (param i32 i32 i32) (result i32)))
  (import "env" "respond_str" (func $respond_str (param i32 i32)))
  (memory (export "memory") 1)
  (func (export "handle") (param i32) (result i32)
    (local $i i32)
    (loop $again
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $again (i32.lt_u (local.get $i) (i32.const 100000))))
    (call $log_int (local.get $i))
    (drop (call $request_read (i32.const 200) (i32.const 64) (i32.const 196)))
    (call $respond_str (i32.const 200) (i32.load (i32.const 196)))
    (i32.const 0)))
