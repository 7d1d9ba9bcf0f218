;; The handler recurses 100 calls deep and spins at the bottom: the deadline stops it there,
;; with every frame still on the stack, and the instance unwinds cleanly.
(module
  (import "env" "log_int" (func $log_int (param i32)))
  (memory (export "memory") 1)
  (func $down (param $depth i32)
    (if (i32.eqz (local.get $depth))
      (then (call $log_int (i32.const 0)) (loop $forever (br $forever))))
    (call $down (i32.sub (local.get $depth) (i32.const 1))))
  (func (export "handle") (param i32) (result i32)
    (call $down (i32.const 100))
    (i32.const 0)))
