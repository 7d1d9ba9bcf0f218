;; answer_str_alloc on an argument that is not UTF-8, and the guest exports no allocator: the
;; missing allocator is reported first.
(module
  (import "env" "log_int" (func $log_int (param i32)))
  (import "env" "answer_str_alloc" (func $answer_str_alloc (param i32 i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5\c5")
  ;; 1 if every canary byte in [64, 128) is intact: the suite calls it after `run`.
  (func (export "canaries") (result i32) (local $i i32)
    (local.set $i (i32.const 64))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (i32.const 128)))
      (if (i32.ne (i32.load8_u (local.get $i)) (i32.const 0xC5)) (then (return (i32.const 0))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
    (i32.const 1))
  (func (export "run")
    (call $log_int (i32.const 1))
    (call $answer_str_alloc (i32.const 64) (i32.const 4) (i32.const 120))
    (call $log_int (i32.const 2))))
