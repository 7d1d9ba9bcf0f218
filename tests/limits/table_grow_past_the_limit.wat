;; table.grow past the 1,000-element limit returns -1. Known difference: wasm3 0.4.7 implements no
;; reference types (`table.grow`, `ref.null`), so it refuses the module as invalid (golden file
;; `.wasm3.txt`); its tables cannot grow at all.
(module
  (import "env" "log_int" (func $log_int (param i32)))
  (memory (export "memory") 1)
  (table 10 funcref)
  (func (export "run")
    (call $log_int (table.grow (ref.null func) (i32.const 990)))
    (call $log_int (table.grow (ref.null func) (i32.const 1)))))
