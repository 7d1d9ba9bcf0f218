;; A memory that declares a maximum of 100 pages (6.25 MiB): the host's 2 MiB limit still wins.
(module
  (import "env" "log_int" (func $log_int (param i32)))
  (memory (export "memory") 1 100)
  (func (export "run") (result i32)
    (call $log_int (memory.grow (i32.const 40)))
    (memory.size)))
