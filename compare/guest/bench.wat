;; Benchmark loops of the comparison report. Each `loop_NAME(ptr, len, n)` export calls one
;; import `n` times with the same arguments; `loop_empty` is the same loop without the call, and
;; `loop_noop_*` call the no-op benchmark imports of the same signatures, so that the report can
;; subtract the loop and the crossing into the host. The host writes the payload at `ptr` first.
;;
;; The return path: `loop_answer_*` answer into a buffer at 65600 (capacity 70000, the length at
;; 65540); `loop_answer_*_alloc` answer through `guest_alloc`, an arena that hands out the same
;; 64 KiB-aligned block every time (the cheapest allocator there is, so the row shows the cost of
;; re-entering the guest, not of allocating).
(module
  (import "env" "log_int" (func $log_int (param i32)))
  (import "env" "log_str" (func $log_str (param i32 i32)))
  (import "env" "log_ab" (func $log_ab (param i32 i32)))
  (import "env" "log_cd" (func $log_cd (param i32 i32)))
  (import "env" "answer_str" (func $answer_str (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "answer_cd" (func $answer_cd (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "answer_str_alloc" (func $answer_str_alloc (param i32 i32 i32)))
  (import "env" "answer_cd_alloc" (func $answer_cd_alloc (param i32 i32 i32)))
  (import "env" "kv_get" (func $kv_get (param i32 i32 i32 i32 i32) (result i32)))
  (import "bench" "noop_i32" (func $noop_i32 (param i32)))
  (import "bench" "noop_i32_i32" (func $noop_i32_i32 (param i32 i32)))
  ;; Five pages: a 64 KiB payload at 0, the return area and length at 65536.., an output buffer
  ;; at 65600, the allocator's block at 196608.
  (memory (export "memory") 5)

  (func (export "guest_alloc") (param i32 i32) (result i32)
    (i32.const 196608))

  (func (export "loop_empty") (param $ptr i32) (param $len i32) (param $n i32)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $next))))

  (func (export "loop_log_int") (param $ptr i32) (param $len i32) (param $n i32)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $n)))
        (call $log_int (local.get $ptr))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $next))))

  (func (export "loop_noop_i32") (param $ptr i32) (param $len i32) (param $n i32)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $n)))
        (call $noop_i32 (local.get $ptr))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $next))))

  (func (export "loop_log_str") (param $ptr i32) (param $len i32) (param $n i32)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $n)))
        (call $log_str (local.get $ptr) (local.get $len))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $next))))

  (func (export "loop_log_ab") (param $ptr i32) (param $len i32) (param $n i32)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $n)))
        (call $log_ab (local.get $ptr) (local.get $len))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $next))))

  (func (export "loop_log_cd") (param $ptr i32) (param $len i32) (param $n i32)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $n)))
        (call $log_cd (local.get $ptr) (local.get $len))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $next))))

  (func (export "loop_noop_i32_i32") (param $ptr i32) (param $len i32) (param $n i32)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $n)))
        (call $noop_i32_i32 (local.get $ptr) (local.get $len))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $next))))

  (func (export "loop_answer_str") (param $ptr i32) (param $len i32) (param $n i32)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $n)))
        (drop (call $answer_str (local.get $ptr) (local.get $len) (i32.const 65600) (i32.const 70000) (i32.const 65540)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $next))))

  (func (export "loop_kv_get") (param $ptr i32) (param $len i32) (param $n i32)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $n)))
        (drop (call $kv_get (local.get $ptr) (local.get $len) (i32.const 65600) (i32.const 70000) (i32.const 65540)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $next))))

  (func (export "loop_answer_cd") (param $ptr i32) (param $len i32) (param $n i32)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $n)))
        (drop (call $answer_cd (local.get $ptr) (local.get $len) (i32.const 65600) (i32.const 70000) (i32.const 65540)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $next))))

  (func (export "loop_answer_str_alloc") (param $ptr i32) (param $len i32) (param $n i32)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $n)))
        (call $answer_str_alloc (local.get $ptr) (local.get $len) (i32.const 65544))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $next))))

  (func (export "loop_answer_cd_alloc") (param $ptr i32) (param $len i32) (param $n i32)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $n)))
        (call $answer_cd_alloc (local.get $ptr) (local.get $len) (i32.const 65544))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $next))))

  ;; Called from the host: the cost of entering the guest.
  ;; Never returns: how late a timeout stops it is measured ("timeout.late").
  (func (export "spin") (loop $forever (br $forever)))
  (func (export "noop")))
