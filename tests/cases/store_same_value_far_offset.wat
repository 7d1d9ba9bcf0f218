;; A store whose address and value are the same value, with an offset of 2^16 or more: valid, and
;; every runtime stores it except wasmi 2.0.0, whose translator panics on it ("internal error:
;; entered unreachable code", translator/func/mod.rs:2583) when it translates the function (at
;; load, or at the first call with lazy translation). host-wasmi turns the panic into `runtime`
;; (harness::guarded); before, it crashed the host process (README, Known differences). Found by
;; the generated-module search (GENERATED_SEED=4275676649662224834).
(module
  (import "env" "log_int" (func $log_int (param i32)))
  (memory (export "memory") 2)
  (func (export "run")
    (local $p i32)
    (local.tee $p (memory.size))
    (local.get $p)
    (i32.store offset=70000)
    (call $log_int (i32.load offset=70000 (i32.const 2)))))
