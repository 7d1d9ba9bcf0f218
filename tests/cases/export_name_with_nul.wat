;; An export whose name holds a NUL character: valid UTF-8, so a valid module (names are any
;; UTF-8 string). WAMR refuses it: its loader checks names with `wasm_check_utf8_str`, which
;; rejects the byte 0 (C strings), so the module does not load there (`wamr` golden file; README,
;; "Known differences"). Found by the generated-module test.
(module
  (import "env" "log_int" (func $log_int (param i32)))
  (memory (export "memory") 1)
  (func (export "a\00b"))
  (func (export "run") (result i32)
    (call $log_int (i32.const 7))
    (i32.const 0)))
