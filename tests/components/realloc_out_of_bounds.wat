;; cabi_realloc answers a pointer whose answer would run past the end of memory: refused by the
;; canonical ABI, nothing written.
(component
  (import "log-int" (func $log-int (param "value" s32)))
  (import "log-str" (func $log-str (param "text" string)))
  (import "answer-str" (func $answer-str (param "text" string) (result string)))
  (core module $Libc
    (memory (export "memory") 1)
    (global $heap (mut i32) (i32.const 4096))
    (func (export "cabi_realloc") (param $old i32) (param $old_size i32) (param $align i32) (param $size i32) (result i32)
      (i32.const 65535)))
  (core instance $libc (instantiate $Libc))
  (alias core export $libc "memory" (core memory $mem))
  (alias core export $libc "cabi_realloc" (core func $realloc))
  (core func $log-int-lowered (canon lower (func $log-int)))
  (core func $log-str-lowered (canon lower (func $log-str) (memory $mem) string-encoding=utf8))
  (core func $answer-str-lowered (canon lower (func $answer-str) (memory $mem) (realloc $realloc) string-encoding=utf8))
  (core module $Main
    (import "libc" "memory" (memory 1))
    (import "host" "log-int" (func $log-int (param i32)))
    (import "host" "log-str" (func $log-str (param i32 i32)))
    (import "host" "answer-str" (func $answer-str (param i32 i32 i32)))
    (data (i32.const 16) "Wasm")
    (func (export "run")
      (call $answer-str (i32.const 16) (i32.const 4) (i32.const 64))
      (call $log-str (i32.load (i32.const 64)) (i32.load (i32.const 68)))))
  (core instance $main (instantiate $Main
    (with "libc" (instance $libc))
    (with "host" (instance (export "log-int" (func $log-int-lowered)) (export "log-str" (func $log-str-lowered)) (export "answer-str" (func $answer-str-lowered))))))
  (func (export "run") (canon lift (core func $main "run")))
)
