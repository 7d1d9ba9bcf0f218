;; Logs a 60 KiB string over and over: the host's 1 MiB log limit stops it (the fuel would only
;; run out much later).
(module
  (import "env" "log_str" (func $log_str (param i32 i32)))
  (memory (export "memory") 1)
  (func (export "run")
    (loop $forever
      (call $log_str (i32.const 0) (i32.const 61440))
      (br $forever))))
