;; The handler's result area holds case 7 of a two-case `result`: the canonical ABI refuses it
;; while lifting.
(component
  (type $ab' (record (field "a" u32) (field "b" string)))
  (export $ab "ab" (type $ab'))
  (type $cd' (record (field "c" s32) (field "d" string)))
  (export $cd "cd" (type $cd'))
  (type $response' (variant (case "str" string) (case "ab" $ab) (case "cd" $cd)))
  (export $response "response" (type $response'))
  (core module $Main
    (memory (export "memory") 1)
    (global $heap (mut i32) (i32.const 4096))
    (func (export "cabi_realloc") (param $old i32) (param $old_size i32) (param $align i32) (param $size i32) (result i32)
      (local $p i32)
      (local.set $p (i32.and (i32.add (global.get $heap) (i32.sub (local.get $align) (i32.const 1)))
                             (i32.sub (i32.const 0) (local.get $align))))
      (global.set $heap (i32.add (local.get $p) (local.get $size)))
      (local.get $p))
    
    ;; The result area of `result<response, string>` (20 bytes at 1024): its case at 0; for `ok`,
    ;; the response's case at 4 and its payload from 8; for `err`, the string at 4.
    (func (export "handle") (param $request i32) (param $len i32) (result i32)
      (i32.store8 (i32.const 1024) (i32.const 7))
      (i32.const 1024)))
  (core instance $main (instantiate $Main))
  (alias core export $main "memory" (core memory $mem))
  (alias core export $main "cabi_realloc" (core func $realloc))
  (func (export "handle") (param "request" (list u8)) (result (result $response (error string)))
    (canon lift (core func $main "handle") (memory $mem) (realloc $realloc) string-encoding=utf8))
)
