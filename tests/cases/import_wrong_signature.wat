;; log_str imported with one parameter instead of two.
(module
  (import "env" "log_str" (func $log_str (param i32)))
  (memory (export "memory") 1)
  (func (export "run") (call $log_str (i32.const 1))))
