;; A start function that never returns: the deadline counts from the start of instantiation, so
;; it stops the start function and the module is never instantiated (a failed instantiation
;; reports no events, as everywhere else).
(module
  (import "env" "log_int" (func $log_int (param i32)))
  (memory (export "memory") 1)
  (func $start (call $log_int (i32.const 1)) (loop $forever (br $forever)))
  (start $start)
  (func (export "handle") (param i32) (result i32) (i32.const 0)))
