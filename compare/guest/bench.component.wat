;; The comparison report's benchmark loops as a component: the component model's side of
;; `bench.wat`. Each `loop-NAME(ptr, len, n)` export calls one import of the world (or a bench
;; no-op) `n` times with the text of `len` bytes at `ptr`; `loop-empty` is the same loop without the
;; call. The host puts the payload at `ptr` first with `write-memory` (a component does not export
;; its memory). The loops call the lowered imports directly, as `wit-bindgen`'s bindings do.
;;
;; `log-ab` gets `a = 0` and `log-cd` gets `c = 1234` with the text at `ptr` as their string. The
;; answers (`answer-str`, `answer-cd`) come back through `cabi_realloc`, which hands out the same
;; block every time (as `bench.wat`'s `guest_alloc` does), into a return area at 65536.
;; `bench-noop-s32`, `bench-noop-s32-s32` are the crossing (no-ops of `log-int`'s and `log-str`'s
;; core signatures), `bench-str-owned` and `bench-str-borrowed` take a string and drop it, as an
;; owned `String` or validated in place through a `WasmStr`.
(component
  (type $ab' (record (field "a" u32) (field "b" string)))
  (import "ab" (type $ab (eq $ab')))
  (type $cd' (record (field "c" s32) (field "d" string)))
  (import "cd" (type $cd (eq $cd')))
  (import "log-int" (func $log-int (param "value" s32)))
  (import "log-str" (func $log-str (param "text" string)))
  (import "log-ab" (func $log-ab (param "value" $ab)))
  (import "log-cd" (func $log-cd (param "value" $cd)))
  (import "answer-str" (func $answer-str (param "text" string) (result string)))
  (import "answer-cd" (func $answer-cd (param "value" $cd) (result $cd)))
  (import "bench-noop-s32" (func $noop-s32 (param "a" s32)))
  (import "bench-noop-s32-s32" (func $noop-s32-s32 (param "a" s32) (param "b" s32)))
  (import "bench-str-owned" (func $str-owned (param "text" string)))
  (import "bench-str-borrowed" (func $str-borrowed (param "text" string)))
  ;; Five pages: the payload at 0, the return area at 65536, cabi_realloc's block at 196608.
  (core module $Libc
    (memory (export "memory") 5)
    (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32) (i32.const 196608)))
  (core instance $libc (instantiate $Libc))
  (alias core export $libc "memory" (core memory $mem))
  (alias core export $libc "cabi_realloc" (core func $realloc))
  (core func $log-int-lowered (canon lower (func $log-int)))
  (core func $log-str-lowered (canon lower (func $log-str) (memory $mem) string-encoding=utf8))
  (core func $log-ab-lowered (canon lower (func $log-ab) (memory $mem) string-encoding=utf8))
  (core func $log-cd-lowered (canon lower (func $log-cd) (memory $mem) string-encoding=utf8))
  (core func $answer-str-lowered (canon lower (func $answer-str) (memory $mem) (realloc $realloc) string-encoding=utf8))
  (core func $answer-cd-lowered (canon lower (func $answer-cd) (memory $mem) (realloc $realloc) string-encoding=utf8))
  (core func $noop-s32-lowered (canon lower (func $noop-s32)))
  (core func $noop-s32-s32-lowered (canon lower (func $noop-s32-s32)))
  (core func $str-owned-lowered (canon lower (func $str-owned) (memory $mem) string-encoding=utf8))
  (core func $str-borrowed-lowered (canon lower (func $str-borrowed) (memory $mem) string-encoding=utf8))
  (core module $Main
    (import "libc" "memory" (memory 1))
    (import "host" "log-int" (func $log-int (param i32)))
    (import "host" "log-str" (func $log-str (param i32 i32)))
    (import "host" "log-ab" (func $log-ab (param i32 i32 i32)))
    (import "host" "log-cd" (func $log-cd (param i32 i32 i32)))
    (import "host" "answer-str" (func $answer-str (param i32 i32 i32)))
    (import "host" "answer-cd" (func $answer-cd (param i32 i32 i32 i32)))
    (import "host" "bench-noop-s32" (func $noop-s32 (param i32)))
    (import "host" "bench-noop-s32-s32" (func $noop-s32-s32 (param i32 i32)))
    (import "host" "bench-str-owned" (func $str-owned (param i32 i32)))
    (import "host" "bench-str-borrowed" (func $str-borrowed (param i32 i32)))
    ;; The list arrives in cabi_realloc's block; it is copied to `offset`.
    (func (export "write-memory") (param $offset i32) (param $ptr i32) (param $len i32)
      (memory.copy (local.get $offset) (local.get $ptr) (local.get $len)))
    (func (export "loop-empty") (param $ptr i32) (param $len i32) (param $n i32)
      (block $done
        (loop $next
          (br_if $done (i32.eqz (local.get $n)))
          (local.set $n (i32.sub (local.get $n) (i32.const 1)))
          (br $next))))
    (func (export "loop-log-int") (param $ptr i32) (param $len i32) (param $n i32)
      (block $done
        (loop $next
          (br_if $done (i32.eqz (local.get $n)))
          (call $log-int (local.get $ptr))
          (local.set $n (i32.sub (local.get $n) (i32.const 1)))
          (br $next))))
    (func (export "loop-noop-i32") (param $ptr i32) (param $len i32) (param $n i32)
      (block $done
        (loop $next
          (br_if $done (i32.eqz (local.get $n)))
          (call $noop-s32 (local.get $ptr))
          (local.set $n (i32.sub (local.get $n) (i32.const 1)))
          (br $next))))
    (func (export "loop-log-str") (param $ptr i32) (param $len i32) (param $n i32)
      (block $done
        (loop $next
          (br_if $done (i32.eqz (local.get $n)))
          (call $log-str (local.get $ptr) (local.get $len))
          (local.set $n (i32.sub (local.get $n) (i32.const 1)))
          (br $next))))
    (func (export "loop-log-ab") (param $ptr i32) (param $len i32) (param $n i32)
      (block $done
        (loop $next
          (br_if $done (i32.eqz (local.get $n)))
          (call $log-ab (i32.const 0) (local.get $ptr) (local.get $len))
          (local.set $n (i32.sub (local.get $n) (i32.const 1)))
          (br $next))))
    (func (export "loop-log-cd") (param $ptr i32) (param $len i32) (param $n i32)
      (block $done
        (loop $next
          (br_if $done (i32.eqz (local.get $n)))
          (call $log-cd (i32.const 1234) (local.get $ptr) (local.get $len))
          (local.set $n (i32.sub (local.get $n) (i32.const 1)))
          (br $next))))
    (func (export "loop-noop-i32-i32") (param $ptr i32) (param $len i32) (param $n i32)
      (block $done
        (loop $next
          (br_if $done (i32.eqz (local.get $n)))
          (call $noop-s32-s32 (local.get $ptr) (local.get $len))
          (local.set $n (i32.sub (local.get $n) (i32.const 1)))
          (br $next))))
    (func (export "loop-answer-str-alloc") (param $ptr i32) (param $len i32) (param $n i32)
      (block $done
        (loop $next
          (br_if $done (i32.eqz (local.get $n)))
          (call $answer-str (local.get $ptr) (local.get $len) (i32.const 65536))
          (local.set $n (i32.sub (local.get $n) (i32.const 1)))
          (br $next))))
    (func (export "loop-answer-cd-alloc") (param $ptr i32) (param $len i32) (param $n i32)
      (block $done
        (loop $next
          (br_if $done (i32.eqz (local.get $n)))
          (call $answer-cd (i32.const 1234) (local.get $ptr) (local.get $len) (i32.const 65536))
          (local.set $n (i32.sub (local.get $n) (i32.const 1)))
          (br $next))))
    (func (export "loop-str-owned") (param $ptr i32) (param $len i32) (param $n i32)
      (block $done
        (loop $next
          (br_if $done (i32.eqz (local.get $n)))
          (call $str-owned (local.get $ptr) (local.get $len))
          (local.set $n (i32.sub (local.get $n) (i32.const 1)))
          (br $next))))
    (func (export "loop-str-borrowed") (param $ptr i32) (param $len i32) (param $n i32)
      (block $done
        (loop $next
          (br_if $done (i32.eqz (local.get $n)))
          (call $str-borrowed (local.get $ptr) (local.get $len))
          (local.set $n (i32.sub (local.get $n) (i32.const 1)))
          (br $next)))))
  (core instance $main (instantiate $Main
    (with "libc" (instance $libc))
    (with "host" (instance
      (export "log-int" (func $log-int-lowered))
      (export "log-str" (func $log-str-lowered))
      (export "log-ab" (func $log-ab-lowered))
      (export "log-cd" (func $log-cd-lowered))
      (export "answer-str" (func $answer-str-lowered))
      (export "answer-cd" (func $answer-cd-lowered))
      (export "bench-noop-s32" (func $noop-s32-lowered))
      (export "bench-noop-s32-s32" (func $noop-s32-s32-lowered))
      (export "bench-str-owned" (func $str-owned-lowered))
      (export "bench-str-borrowed" (func $str-borrowed-lowered))))))
  (func (export "write-memory") (param "offset" u32) (param "bytes" (list u8))
    (canon lift (core func $main "write-memory") (memory $mem) (realloc $realloc)))
  (func (export "loop-empty") (param "ptr" u32) (param "len" u32) (param "n" u32)
    (canon lift (core func $main "loop-empty")))
  (func (export "loop-log-int") (param "ptr" u32) (param "len" u32) (param "n" u32)
    (canon lift (core func $main "loop-log-int")))
  (func (export "loop-noop-i32") (param "ptr" u32) (param "len" u32) (param "n" u32)
    (canon lift (core func $main "loop-noop-i32")))
  (func (export "loop-log-str") (param "ptr" u32) (param "len" u32) (param "n" u32)
    (canon lift (core func $main "loop-log-str")))
  (func (export "loop-log-ab") (param "ptr" u32) (param "len" u32) (param "n" u32)
    (canon lift (core func $main "loop-log-ab")))
  (func (export "loop-log-cd") (param "ptr" u32) (param "len" u32) (param "n" u32)
    (canon lift (core func $main "loop-log-cd")))
  (func (export "loop-noop-i32-i32") (param "ptr" u32) (param "len" u32) (param "n" u32)
    (canon lift (core func $main "loop-noop-i32-i32")))
  (func (export "loop-answer-str-alloc") (param "ptr" u32) (param "len" u32) (param "n" u32)
    (canon lift (core func $main "loop-answer-str-alloc")))
  (func (export "loop-answer-cd-alloc") (param "ptr" u32) (param "len" u32) (param "n" u32)
    (canon lift (core func $main "loop-answer-cd-alloc")))
  (func (export "loop-str-owned") (param "ptr" u32) (param "len" u32) (param "n" u32)
    (canon lift (core func $main "loop-str-owned")))
  (func (export "loop-str-borrowed") (param "ptr" u32) (param "len" u32) (param "n" u32)
    (canon lift (core func $main "loop-str-borrowed")))
)
