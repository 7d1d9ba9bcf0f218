;; log-ab with a text of 70,000 bytes: the WIT type `ab { a: u32, b: string }` cannot say "encodes
;; within 64 KiB"; the host checks it, with the core ABI's kind. The text is valid UTF-8 (zero
;; bytes), so only the size is wrong.
(component
  (type $ab' (record (field "a" u32) (field "b" string)))
  (import "ab" (type $ab (eq $ab')))
  (import "log-ab" (func $log-ab (param "value" $ab)))
  (core module $Libc
    (memory (export "memory") 2)
    (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32) (i32.const 4096)))
  (core instance $libc (instantiate $Libc))
  (alias core export $libc "memory" (core memory $mem))
  (core func $log-ab-lowered (canon lower (func $log-ab) (memory $mem) string-encoding=utf8))
  (core module $Main
    (import "libc" "memory" (memory 1))
    (import "host" "log-ab" (func $log-ab (param i32 i32 i32)))
    (func (export "run")
      (call $log-ab (i32.const 7) (i32.const 16) (i32.const 70000))))
  (core instance $main (instantiate $Main
    (with "libc" (instance $libc))
    (with "host" (instance (export "log-ab" (func $log-ab-lowered))))))
  (func (export "run") (canon lift (core func $main "run")))
)
