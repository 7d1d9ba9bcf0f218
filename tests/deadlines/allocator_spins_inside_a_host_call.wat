;; The guest's allocator never returns: the deadline stops it inside the host call
;; (answer_str_alloc) that called it, and the whole call fails.
(module
  (import "env" "log_int" (func $log_int (param i32)))
  (import "env" "answer_str_alloc" (func $answer_str_alloc (param i32 i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "Wasm")
  (func (export "guest_alloc") (param i32 i32) (result i32)
    (loop $forever (br $forever))
    (i32.const 256))
  (func (export "handle") (param i32) (result i32)
    (call $log_int (i32.const 1))
    (call $answer_str_alloc (i32.const 16) (i32.const 4) (i32.const 120))
    (i32.const 0)))
