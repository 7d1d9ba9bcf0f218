;; log-cd with a text of 33 bytes: the WIT type `cd { c: s32, d: string }` cannot say "at most 32
;; bytes"; the host checks it, with the core ABI's kind. A cd of 32 bytes before it is logged.
(component
  (type $cd' (record (field "c" s32) (field "d" string)))
  (import "cd" (type $cd (eq $cd')))
  (import "log-cd" (func $log-cd (param "value" $cd)))
  (core module $Libc
    (memory (export "memory") 1)
    (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32) (i32.const 4096)))
  (core instance $libc (instantiate $Libc))
  (alias core export $libc "memory" (core memory $mem))
  (core func $log-cd-lowered (canon lower (func $log-cd) (memory $mem) string-encoding=utf8))
  (core module $Main
    (import "libc" "memory" (memory 1))
    (import "host" "log-cd" (func $log-cd (param i32 i32 i32)))
    (data (i32.const 16) "0123456789abcdef0123456789abcdef!")
    (func (export "run")
      (call $log-cd (i32.const 32) (i32.const 16) (i32.const 32))
      (call $log-cd (i32.const 33) (i32.const 16) (i32.const 33))))
  (core instance $main (instantiate $Main
    (with "libc" (instance $libc))
    (with "host" (instance (export "log-cd" (func $log-cd-lowered))))))
  (func (export "run") (canon lift (core func $main "run")))
)
