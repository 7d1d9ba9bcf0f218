;; The guest's allocator grows memory and returns a pointer in the new page: the host
;; writes there through the memory as it is after the call (no stale view). Logs the answer
;; read back through the return area.
(module
  (import "env" "log_int" (func $log_int (param i32)))
  (import "env" "log_str" (func $log_str (param i32 i32)))
  (import "env" "answer_str_alloc" (func $answer_str_alloc (param i32 i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "Wasm")
  (data (i32.const 24) "\05\00\00\00\04\00\00\00five")
  (data (i32.const 64) "\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5")
  (func (export "guest_alloc") (param i32 i32) (result i32)
    (drop (memory.grow (i32.const 1)))
    (i32.const 65600))
  (func (export "run")
    (call $log_int (i32.const 1))
    (call $answer_str_alloc (i32.const 16) (i32.const 4) (i32.const 120))
    (call $log_int (i32.load (i32.const 120)))
    (call $log_str (i32.load (i32.const 120)) (i32.load (i32.const 124)))))
