;; log_str(65537, 0): an empty string one byte past the end of memory is out of bounds (exactly at
;; the end, 65536, it is in bounds: str_empty_at_end).
(module
  (import "env" "log_int" (func $log_int (param i32)))
  (import "env" "log_str" (func $log_str (param i32 i32)))
  (import "env" "log_ab" (func $log_ab (param i32 i32)))
  (import "env" "log_cd" (func $log_cd (param i32 i32)))
  (memory (export "memory") 1)
  (func (export "run") (call $log_str (i32.const 65537) (i32.const 0))))
