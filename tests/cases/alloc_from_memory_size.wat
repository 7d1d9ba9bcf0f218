;; A guest_alloc that computes its pointer from memory.size, as allocators commonly do: wasm3
;; 0.4.7 fails to compile it in the middle of the host call (memory_size_after_load).
(module
  (import "env" "log_str" (func $log_str (param i32 i32)))
  (import "env" "answer_str_alloc" (func $answer_str_alloc (param i32 i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "Wasm")
  (data (i32.const 64) "\00\04\00\00")
  (func (export "guest_alloc") (param i32 i32) (result i32)
    (i32.add (i32.load (i32.const 64)) (memory.size)))
  (func (export "run")
    (call $answer_str_alloc (i32.const 16) (i32.const 4) (i32.const 120))
    (call $log_str (i32.load (i32.const 120)) (i32.load (i32.const 124)))))
