;; `run` takes a string: not a function the host can call without arguments.
(component
  (core module $Main
    (memory (export "memory") 1)
    (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32) (i32.const 1024))
    (func (export "run") (param i32 i32)))
  (core instance $main (instantiate $Main))
  (alias core export $main "memory" (core memory $mem))
  (alias core export $main "cabi_realloc" (core func $realloc))
  (func (export "run") (param "text" string)
    (canon lift (core func $main "run") (memory $mem) (realloc $realloc) string-encoding=utf8))
)
