;; A failing import ends the call: the log_int after it never runs.
(module
  (import "env" "log_int" (func $log_int (param i32)))
  (import "env" "log_str" (func $log_str (param i32 i32)))
  (import "env" "log_ab" (func $log_ab (param i32 i32)))
  (import "env" "log_cd" (func $log_cd (param i32 i32)))
  (memory (export "memory") 1)
  (func (export "run")
    (call $log_int (i32.const 1))
    (call $log_str (i32.const 70000) (i32.const 1))
    (call $log_int (i32.const 2))))
