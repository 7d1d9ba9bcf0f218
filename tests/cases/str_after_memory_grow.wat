;; memory.grow by one page, then log_str in the new page: hosts must not cache the memory size.
(module
  (import "env" "log_int" (func $log_int (param i32)))
  (import "env" "log_str" (func $log_str (param i32 i32)))
  (import "env" "log_ab" (func $log_ab (param i32 i32)))
  (import "env" "log_cd" (func $log_cd (param i32 i32)))
  (memory (export "memory") 1)
  (func (export "run")
    (drop (memory.grow (i32.const 1)))
    (i32.store8 (i32.const 70000) (i32.const 0x41))
    (call $log_str (i32.const 70000) (i32.const 1))))
