;; kv_get with a key that ends past the memory: the same error as log_str's.
(module
  (import "env" "log_int" (func $log_int (param i32)))
  (import "env" "kv_get" (func $kv_get (param i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "run")
    (call $log_int (i32.const 1))
    (drop (call $kv_get (i32.const 65530) (i32.const 16) (i32.const 64) (i32.const 32) (i32.const 120)))
    (call $log_int (i32.const 2))))
