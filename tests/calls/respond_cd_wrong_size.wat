;; The handler responds with a CD of 39 bytes.
(module
  (import "env" "respond_cd" (func $respond_cd (param i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "Wasm")
  (data (i32.const 24) "\05\00\00\00\04\00\00\00five")
  (data (i32.const 64) "\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5")
  (func (export "handle") (param i32) (result i32)
    (call $respond_cd (i32.const 24) (i32.const 39))
    (i32.const 0)))
