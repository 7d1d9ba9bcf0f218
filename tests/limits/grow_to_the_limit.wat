;; memory.grow up to the 2 MiB limit succeeds; one page more returns -1 (the Wasm-defined
;; failure), and the guest goes on. Logs the results of both grows and the final size in pages.
(module
  (import "env" "log_int" (func $log_int (param i32)))
  (memory (export "memory") 1)
  (func (export "run") (result i32)
    (call $log_int (memory.grow (i32.const 31)))
    (call $log_int (memory.grow (i32.const 1)))
    (call $log_int (memory.grow (i32.const 65535)))
    (memory.size)))
