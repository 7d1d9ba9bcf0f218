;; A trap (unreachable) after two successful calls: the events before the trap are kept.
(module
  (import "env" "log_int" (func $log_int (param i32)))
  (import "env" "log_str" (func $log_str (param i32 i32)))
  (import "env" "log_ab" (func $log_ab (param i32 i32)))
  (import "env" "log_cd" (func $log_cd (param i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "before")
  (func (export "run")
    (call $log_int (i32.const 1))
    (call $log_str (i32.const 16) (i32.const 6))
    unreachable))
