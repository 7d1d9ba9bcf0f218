;; memory.grow, then answer_str into the new page: the host sees the memory as it is
;; now. Logs the status and the answer read from the new page.
(module
  (import "env" "log_int" (func $log_int (param i32)))
  (import "env" "log_str" (func $log_str (param i32 i32)))
  (import "env" "answer_str" (func $answer_str (param i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "Wasm")
  (data (i32.const 24) "\05\00\00\00\04\00\00\00five")
  (data (i32.const 64) "\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5")
  (func (export "run")
    (call $log_int (memory.grow (i32.const 1)))
    (call $log_int (call $answer_str (i32.const 16) (i32.const 4) (i32.const 65600) (i32.const 64) (i32.const 65536)))
    (call $log_str (i32.const 65600) (i32.load (i32.const 65536)))))
