;; The handler responds with an AB whose string length prefix claims 2^64 - 1 bytes:
;; refused before anything is allocated.
(module
  (import "env" "respond_ab" (func $respond_ab (param i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "Wasm")
  (data (i32.const 24) "\05\00\00\00\04\00\00\00five")
  (data (i32.const 64) "\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5")
  (data (i32.const 300) "\00\fd\ff\ff\ff\ff\ff\ff\ff\ff")
  (func (export "handle") (param i32) (result i32)
    (call $respond_ab (i32.const 300) (i32.const 10))
    (i32.const 0)))
