;; log_int imported from "wasi" instead of "env".
(module
  (import "wasi" "log_int" (func $log_int (param i32)))
  (memory (export "memory") 1)
  (func (export "run") (call $log_int (i32.const 1))))
