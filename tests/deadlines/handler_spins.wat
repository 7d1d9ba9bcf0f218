;; The handler logs, reads its request, then never returns: the deadline stops it, and the event
;; logged before it is kept.
(module
  (import "env" "log_int" (func $log_int (param i32)))
  (import "env" "request_read" (func $request_read (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "handle") (param i32) (result i32)
    (call $log_int (i32.const 1))
    (drop (call $request_read (i32.const 200) (i32.const 64) (i32.const 196)))
    (loop $forever (br $forever))
    (i32.const 0)))
