;; No export named run, and the exports are declared out of alphabetical order. The error lists
;; them, and must list them in the same order on every runtime (wasmi lists exports sorted by
;; name, wasmtime and wasmer in declaration order: the host sorts them itself).
(module
  (memory (export "memory") 1)
  (func (export "zeta"))
  (func (export "alpha"))
  (func (export "mid")))
