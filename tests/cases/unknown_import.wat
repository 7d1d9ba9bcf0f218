;; An import the ABI does not have.
(module
  (import "env" "log_float" (func $log_float (param f32)))
  (memory (export "memory") 1)
  (func (export "run") (call $log_float (f32.const 1))))
