;; Unbounded recursion with big frames (many locals).
(module
  (memory (export "memory") 1)
  (func $down (param i64) (local i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64)
    (local.set 1 (local.get 0))
    (call $down (i64.add (local.get 1) (i64.const 1))))
  (func (export "run") (call $down (i64.const 0))))
