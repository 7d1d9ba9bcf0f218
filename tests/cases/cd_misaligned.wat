;; log_cd at offset 17 (not a multiple of 4): the wire struct has alignment 1, so it is read like any other.
(module
  (import "env" "log_int" (func $log_int (param i32)))
  (import "env" "log_str" (func $log_str (param i32 i32)))
  (import "env" "log_ab" (func $log_ab (param i32 i32)))
  (import "env" "log_cd" (func $log_cd (param i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 17) "\d2\04\00\00\05\00\00\00hello")
  (func (export "run") (call $log_cd (i32.const 17) (i32.const 40))))
