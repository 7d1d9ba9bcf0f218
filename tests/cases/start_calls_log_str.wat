;; A start function calls log_str: the instance's memory is not bound yet, so the host refuses it.
(module
  (import "env" "log_int" (func $log_int (param i32)))
  (import "env" "log_str" (func $log_str (param i32 i32)))
  (import "env" "log_ab" (func $log_ab (param i32 i32)))
  (import "env" "log_cd" (func $log_cd (param i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "early")
  (func $start (call $log_str (i32.const 16) (i32.const 5)))
  (start $start)
  (func (export "run")))
