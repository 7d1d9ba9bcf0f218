;; A table of 2,000 elements, above the limit of 1,000: refused at instantiation.
(module
  (memory (export "memory") 1)
  (table 2000 funcref)
  (func (export "run")))
