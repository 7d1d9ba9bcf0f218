;; kv_get with a key that is not UTF-8 and an output buffer past the memory: the output range is
;; checked first, as for every answer_* import.
(module
  (import "env" "log_int" (func $log_int (param i32)))
  (import "env" "kv_get" (func $kv_get (param i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "key\ff")
  (func (export "run")
    (call $log_int (i32.const 1))
    (drop (call $kv_get (i32.const 16) (i32.const 4) (i32.const 65530) (i32.const 32) (i32.const 120)))
    (call $log_int (i32.const 2))))
