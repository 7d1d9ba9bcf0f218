;; log_str(0, -1): a negative i32 is the length 0xFFFFFFFF.
(module
  (import "env" "log_int" (func $log_int (param i32)))
  (import "env" "log_str" (func $log_str (param i32 i32)))
  (import "env" "log_ab" (func $log_ab (param i32 i32)))
  (import "env" "log_cd" (func $log_cd (param i32 i32)))
  (memory (export "memory") 1)
  (func (export "run") (call $log_str (i32.const 0) (i32.const -1))))
