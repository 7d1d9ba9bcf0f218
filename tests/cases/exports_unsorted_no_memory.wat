;; No memory exported as "memory", and the exports are declared out of alphabetical order: the
;; error lists them in the same order on every runtime.
(module
  (memory 1)
  (func (export "zeta"))
  (global (export "beta") i32 (i32.const 0))
  (func (export "run"))
  (func (export "alpha")))
