;; Two handlers in one module: `echo` responds with its request; `bad` reads the request, logs
;; it, responds, then traps mid-call. The suite alternates them on one instance: after a trap, the
;; call's state (request, response) must be cleared and the next call must work.
(module
  (import "env" "log_int" (func $log_int (param i32)))
  (import "env" "request_read" (func $request_read (param i32 i32 i32) (result i32)))
  (import "env" "respond_str" (func $respond_str (param i32 i32)))
  (memory (export "memory") 1)
  (func $read (result i32)
    (drop (call $request_read (i32.const 64) (i32.const 1024) (i32.const 60)))
    (i32.load (i32.const 60)))
  (func (export "echo") (param i32) (result i32)
    (call $respond_str (i32.const 64) (call $read))
    (i32.const 0))
  (func (export "bad") (param i32) (result i32)
    (call $respond_str (i32.const 64) (call $read))
    (call $log_int (local.get 0))
    unreachable))
