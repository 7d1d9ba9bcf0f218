;; A handler that fills and copies 1 MiB after a short loop, well within the deadline, so it
;; returns. Runtimes that measure a timeout out in slices of fuel charge these instructions per
;; byte, each more than a slice: the host must give such an instruction what it needs beyond the
;; fuel left. (host-dlr gave it only that, never enough, and the call spun to its deadline.)
(module
  (import "env" "log_int" (func $log_int (param i32)))
  (import "env" "request_read" (func $request_read (param i32 i32 i32) (result i32)))
  (import "env" "respond_str" (func $respond_str (param i32 i32)))
  (memory (export "memory") 17)
  (func (export "handle") (param i32) (result i32)
    (local $i i32)
    ;; Part of the first slice used, so that the fill finds a slice already begun.
    (loop $again
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $again (i32.lt_u (local.get $i) (i32.const 1000))))
    (memory.fill (i32.const 0) (i32.const 7) (i32.const 1048576))
    (memory.copy (i32.const 1) (i32.const 0) (i32.const 1048575))
    (call $log_int (i32.load8_u (i32.const 1048575)))
    (drop (call $request_read (i32.const 200) (i32.const 64) (i32.const 196)))
    (call $respond_str (i32.const 200) (i32.load (i32.const 196)))
    (i32.const 0)))
