;; A module that exports its memory as "mem" instead of "memory".
(module
  (import "env" "log_int" (func $log_int (param i32)))
  (memory (export "mem") 1)
  (func (export "run") (call $log_int (i32.const 1))))
