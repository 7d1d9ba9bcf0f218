;; `select` whose condition is `i32.eqz` of the local it may select: 5 is not zero, so `select`
;; takes its second operand, 5. wasmi 2.0.0 returns 1 on every tier (a miscompilation: the result
;; is wrong, no error; with a global in place of the local it is right). Kept as a known
;; difference (README, Known differences). Found by a random search of generated modules.
(module
  (import "env" "log_int" (func $log_int (param i32)))
  (memory (export "memory") 1)
  (func (export "run")
    (local $x i32)
    (local.set $x (i32.const 5))
    (call $log_int (select (i32.const 1) (local.get $x) (i32.eqz (local.get $x))))))
