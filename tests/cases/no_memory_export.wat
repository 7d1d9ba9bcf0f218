;; A module that exports no memory at all.
(module
  (import "env" "log_int" (func $log_int (param i32)))
  (memory 1)
  (func (export "run") (call $log_int (i32.const 1))))
