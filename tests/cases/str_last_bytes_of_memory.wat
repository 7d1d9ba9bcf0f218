;; log_str of the last 4 bytes of memory (in bounds), then of 4 bytes one past (out of bounds).
(module
  (import "env" "log_int" (func $log_int (param i32)))
  (import "env" "log_str" (func $log_str (param i32 i32)))
  (import "env" "log_ab" (func $log_ab (param i32 i32)))
  (import "env" "log_cd" (func $log_cd (param i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 65532) "tail")
  (func (export "run")
    (call $log_str (i32.const 65532) (i32.const 4))
    (call $log_str (i32.const 65533) (i32.const 4))))
