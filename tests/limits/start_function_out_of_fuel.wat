;; A start function that never returns: fuel stops it before the module is instantiated. Known
;; difference: wasmer's metering middleware ends the guest with `unreachable`, and the host tells
;; the two apart by reading the instance's metering points, but a failed instantiation leaves no
;; instance to read them from, so wasmer says `trap.unreachable` (golden file `.wasmer.txt`).
;; Found by the generated-module test.
(module
  (import "env" "log_int" (func $log_int (param i32)))
  (memory (export "memory") 1)
  (func $start (call $log_int (i32.const 1)) (loop $forever (br $forever)))
  (start $start)
  (func (export "run")))
