;; `memory.size` added to a value loaded from memory: valid WebAssembly 1.0, which wasm3 0.4.7's
;; compiler refuses when it compiles the function ("no operation found for opcode"), as `runtime`
;; (README, Known differences).
(module
  (import "env" "log_int" (func $log_int (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "\00\04\00\00")
  (func (export "run")
    (call $log_int (i32.add (i32.load (i32.const 64)) (memory.size)))))
