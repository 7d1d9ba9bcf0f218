;; log_cd with bytes after the text length that are not zero: they are ignored.
(module
  (import "env" "log_int" (func $log_int (param i32)))
  (import "env" "log_str" (func $log_str (param i32 i32)))
  (import "env" "log_ab" (func $log_ab (param i32 i32)))
  (import "env" "log_cd" (func $log_cd (param i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "\ff\ff\ff\ff\02\00\00\00hi\ff\ff\ff")
  (func (export "run") (call $log_cd (i32.const 16) (i32.const 40))))
