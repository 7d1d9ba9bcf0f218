;; 33 pages of initial memory, one page above the 2 MiB limit: refused before instantiation.
(module
  (memory (export "memory") 33)
  (func (export "run")))
