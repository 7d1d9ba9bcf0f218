;; An endless loop after one log_int: stopped by the fuel budget (out of fuel), event kept.
(module
  (import "env" "log_int" (func $log_int (param i32)))
  (memory (export "memory") 1)
  (func (export "run")
    (call $log_int (i32.const 1))
    (loop $forever (br $forever))))
