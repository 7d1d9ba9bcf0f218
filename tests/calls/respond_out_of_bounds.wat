;; The handler responds with a range past the end of memory.
(module
  (import "env" "respond_str" (func $respond_str (param i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "Wasm")
  (data (i32.const 24) "\05\00\00\00\04\00\00\00five")
  (data (i32.const 64) "\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5")
  (func (export "handle") (param i32) (result i32)
    (call $respond_str (i32.const 70000) (i32.const 4))
    (i32.const 0)))
