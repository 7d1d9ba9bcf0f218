;; answer_cd into a 40-byte buffer at an odd offset (81): written like any other, then
;; logged from there.
(module
  (import "env" "log_int" (func $log_int (param i32)))
  (import "env" "log_cd" (func $log_cd (param i32 i32)))
  (import "env" "answer_cd" (func $answer_cd (param i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "Wasm")
  (data (i32.const 24) "\05\00\00\00\04\00\00\00five")
  (data (i32.const 64) "\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5")
  (func (export "run")
    (call $log_int (call $answer_cd (i32.const 24) (i32.const 40) (i32.const 81) (i32.const 40) (i32.const 124)))
    (call $log_int (i32.load (i32.const 124)))
    (call $log_cd (i32.const 81) (i32.const 40))
    (call $log_int (i32.load8_u (i32.const 80)))
    (call $log_int (i32.load8_u (i32.const 121)))))
