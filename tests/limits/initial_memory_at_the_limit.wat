;; Exactly 32 pages (2 MiB) of initial memory: allowed.
(module
  (memory (export "memory") 32)
  (func (export "run") (result i32) (memory.size)))
