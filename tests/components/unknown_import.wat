;; A component importing a function the world does not have (`read-file`): refused at load, the
;; message listing the world's imports.
(component
  (import "read-file" (func $read-file (param "path" s32)))
  (core func $read-file-lowered (canon lower (func $read-file)))
  (core module $Main
    (import "host" "read-file" (func $read-file (param i32)))
    (func (export "run") (call $read-file (i32.const 0))))
  (core instance $main (instantiate $Main (with "host" (instance (export "read-file" (func $read-file-lowered))))))
  (func (export "run") (canon lift (core func $main "run")))
)
