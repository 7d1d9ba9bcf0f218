;; Unbounded recursion: a stack-overflow trap, the host survives.
(module
  (import "env" "log_int" (func $log_int (param i32)))
  (memory (export "memory") 1)
  (func $down (param i32) (call $down (i32.add (local.get 0) (i32.const 1))))
  (func (export "run")
    (call $log_int (i32.const 1))
    (call $down (i32.const 0))))
