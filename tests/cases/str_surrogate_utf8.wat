;; log_str with an encoded UTF-16 surrogate (ED A0 80), which UTF-8 forbids.
(module
  (import "env" "log_int" (func $log_int (param i32)))
  (import "env" "log_str" (func $log_str (param i32 i32)))
  (import "env" "log_ab" (func $log_ab (param i32 i32)))
  (import "env" "log_cd" (func $log_cd (param i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "\ed\a0\80")
  (func (export "run") (call $log_str (i32.const 16) (i32.const 3))))
