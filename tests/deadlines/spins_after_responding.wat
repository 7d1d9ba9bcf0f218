;; The handler responds, then never returns: the deadline stops it, and a call that failed has no
;; response (none is printed).
(module
  (import "env" "request_read" (func $request_read (param i32 i32 i32) (result i32)))
  (import "env" "respond_str" (func $respond_str (param i32 i32)))
  (memory (export "memory") 1)
  (func (export "handle") (param i32) (result i32)
    (drop (call $request_read (i32.const 200) (i32.const 64) (i32.const 196)))
    (call $respond_str (i32.const 200) (i32.load (i32.const 196)))
    (loop $forever (br $forever))
    (i32.const 0)))
