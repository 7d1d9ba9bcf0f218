;; A second memory (multi-memory): every host allows one memory per instance, and refuses more as
;; over its limits (`StoreLimits` on wasmtime and wasmi, a check of the module on the others; WAMR
;; cannot even load it). Found by the generated-module test on tinywasm (which ran it) and WAMR
;; (which refused it as invalid). wasm3 (WebAssembly 1.0, where a second memory is invalid) refuses
;; the module as invalid.
(module
  (import "env" "log_int" (func $log_int (param i32)))
  (memory 5 16)
  (memory (export "memory") 1 1)
  (func (export "run") (call $log_int (i32.const 1))))
