;; A component importing the world's `log-str` with another type (an s32, not a string): refused
;; at load.
(component
  (import "log-str" (func $log-str (param "text" s32)))
  (core func $log-str-lowered (canon lower (func $log-str)))
  (core module $Main
    (import "host" "log-str" (func $log-str (param i32)))
    (func (export "run") (call $log-str (i32.const 0))))
  (core instance $main (instantiate $Main (with "host" (instance (export "log-str" (func $log-str-lowered))))))
  (func (export "run") (canon lift (core func $main "run")))
)
