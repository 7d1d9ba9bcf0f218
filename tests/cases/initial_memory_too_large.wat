;; The module declares 2048 pages (128 MiB) of initial memory, above the default 64 MiB maximum.
(module
  (memory (export "memory") 2048)
  (func (export "run")))
