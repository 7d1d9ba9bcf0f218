;; A module using `externref` (a declarative element segment of that type). Known difference:
;; wasmtime is built without its `gc` feature here, and refuses every module that uses GC types,
;; `externref` included, as an invalid module (golden file `.wasmtime.txt`); wasmer and wasmi run
;; it. Found by the generated-module test. wasm3 0.4.7 implements no reference types: invalid
;; module there too (golden file `.wasm3.txt`).
(module
  (import "env" "log_int" (func $log_int (param i32)))
  (memory (export "memory") 1)
  (elem declare externref)
  (func (export "run") (call $log_int (i32.const 1))))
