;; The handler never returns: fuel stops it.
(module
  (import "env" "request_read" (func $request_read (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "Wasm")
  (data (i32.const 24) "\05\00\00\00\04\00\00\00five")
  (data (i32.const 64) "\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5")
  (func (export "handle") (param i32) (result i32)
    (loop $forever (br $forever))
    (i32.const 0)))
