;; answer_str into an output buffer and a length at odd addresses: pattern 1's buffers need no
;; alignment (the length is written as 4 little-endian bytes wherever it is).
(module
  (import "env" "log_int" (func $log_int (param i32)))
  (import "env" "log_str" (func $log_str (param i32 i32)))
  (import "env" "answer_str" (func $answer_str (param i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "Wasm")
  (func (export "run")
    (call $log_int (call $answer_str (i32.const 16) (i32.const 4) (i32.const 257) (i32.const 64) (i32.const 331)))
    (call $log_int (i32.load (i32.const 331)))
    (call $log_str (i32.const 257) (i32.load (i32.const 331)))))
