;; A guest export named like one of the globals wasmer's metering middleware adds (and no `run`,
;; so that the error lists the exports). Known difference: with a fuel limit (the default), the
;; middleware replaces the guest's export with its own global, so on wasmer the guest's function
;; does not exist (golden file `.wasmer.txt`); wasmtime and wasmi list it. Found by the
;; generated-module test.
(module
  (memory (export "memory") 1)
  (func (export "wasmer_metering_remaining_points"))
  (func (export "main")))
