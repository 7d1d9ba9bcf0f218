;; `memory.grow` by 0xFFFF_FFFF pages (-1 as an i32) must fail and return -1: no memory can grow
;; that much. Then the memory is used at its old size. wasm3 0.4.7 computes the new size with
;; wrapping 32-bit arithmetic: the grow "succeeds", returns the old size, and the memory shrinks to
;; nothing (`wasm3` golden file; README, "Known differences"). Found by host-wasm3's author.
(module
  (import "env" "log_int" (func $log_int (param i32)))
  (memory (export "memory") 1)
  (func (export "run") (result i32)
    (call $log_int (memory.grow (i32.const -1)))
    (call $log_int (memory.size))
    (i32.store (i32.const 100) (i32.const 42))
    (i32.load (i32.const 100))))
