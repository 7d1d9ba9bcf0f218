;; log_int imported as returning an i32.
(module
  (import "env" "log_int" (func $log_int (param i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "run") (drop (call $log_int (i32.const 1)))))
