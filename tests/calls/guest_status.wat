;; The handler returns status 7 (its own error code) after responding: the call fails
;; with that status, and the response is not used.
(module
  (import "env" "request_read" (func $request_read (param i32 i32 i32) (result i32)))
  (import "env" "respond_str" (func $respond_str (param i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "Wasm")
  (data (i32.const 24) "\05\00\00\00\04\00\00\00five")
  (data (i32.const 64) "\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5")
  (func (export "handle") (param i32) (result i32)
    (drop (call $request_read (i32.const 200) (i32.const 64) (i32.const 196)))
    (call $respond_str (i32.const 200) (i32.load (i32.const 196)))
    (i32.const 7)))
