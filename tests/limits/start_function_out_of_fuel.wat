;; A start function that never returns: fuel stops it before the module is instantiated. Found by
;; the generated-module test on wasmer, whose metering middleware ends the guest with
;; `unreachable`: the host tells the two apart by reading the instance's metering points, which a
;; failed instantiation has none of. host-wasmer now moves a start function to an export when it
;; meters fuel and calls it right after instantiation, so every runtime says `trap.out-of-fuel`.
(module
  (import "env" "log_int" (func $log_int (param i32)))
  (memory (export "memory") 1)
  (func $start (call $log_int (i32.const 1)) (loop $forever (br $forever)))
  (start $start)
  (func (export "run")))
