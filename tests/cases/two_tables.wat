;; A second table: every host allows one table per instance, and refuses more as over its limits.
;; wasm3 (WebAssembly 1.0, where a second table is invalid) refuses the module as invalid.
(module
  (import "env" "log_int" (func $log_int (param i32)))
  (memory (export "memory") 1)
  (table 1 funcref)
  (table 2 funcref)
  (func (export "run") (call $log_int (i32.const 1))))
