;; The export run returns an i64.
(module
  (import "env" "log_int" (func $log_int (param i32)))
  (import "env" "log_str" (func $log_str (param i32 i32)))
  (import "env" "log_ab" (func $log_ab (param i32 i32)))
  (import "env" "log_cd" (func $log_cd (param i32 i32)))
  (memory (export "memory") 1)
  (func (export "run") (result i64) (i64.const 1)))
