;; The handler never returns, in a loop made almost only of instructions that can trap (loads,
;; stores, a division): the deadline's interrupt lands on one of them, and must still end the call
;; as the timeout, not as that instruction's trap (wasmer 7.3 reported `trap.memory-out-of-bounds`).
(module
  (import "env" "log_int" (func $log_int (param i32)))
  (memory (export "memory") 1)
  (func (export "handle") (param i32) (result i32)
    (call $log_int (i32.const 1))
    (i32.store (i32.const 0) (i32.const 7))
    (loop $forever
      (i32.store (i32.const 4) (i32.load (i32.const 0)))
      (i32.store (i32.const 8) (i32.div_u (i32.load (i32.const 4)) (i32.load (i32.const 0))))
      (i32.store (i32.const 12) (i32.load (i32.const 8)))
      (i32.store (i32.const 0) (i32.load (i32.const 12)))
      (br $forever))
    (i32.const 0)))
