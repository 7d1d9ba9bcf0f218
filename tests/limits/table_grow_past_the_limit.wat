;; table.grow past the 1,000-element limit returns -1.
(module
  (import "env" "log_int" (func $log_int (param i32)))
  (memory (export "memory") 1)
  (table 10 funcref)
  (func (export "run")
    (call $log_int (table.grow (ref.null func) (i32.const 990)))
    (call $log_int (table.grow (ref.null func) (i32.const 1)))))
