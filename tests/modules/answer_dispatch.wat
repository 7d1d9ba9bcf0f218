;; A raw guest for the return path's differential property test: `call(op, ptr, len, out, cap,
;; len_ptr)` makes one return-path call with the test's arguments, unchanged.
;;
;; op 0, 1, 2: answer_str, answer_ab, answer_cd into the buffer (out, cap) with the length at
;;             len_ptr; the status is logged with log_int.
;; op 3, 4, 5: answer_str_alloc, answer_ab_alloc, answer_cd_alloc with the return area at out;
;;             guest_alloc returns the i32 stored at offset 0 (the test puts it there), and -1 is
;;             logged on success.
(module
  (import "env" "log_int" (func $log_int (param i32)))
  (import "env" "answer_str" (func $answer_str (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "answer_ab" (func $answer_ab (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "answer_cd" (func $answer_cd (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "answer_str_alloc" (func $answer_str_alloc (param i32 i32 i32)))
  (import "env" "answer_ab_alloc" (func $answer_ab_alloc (param i32 i32 i32)))
  (import "env" "answer_cd_alloc" (func $answer_cd_alloc (param i32 i32 i32)))
  (memory (export "memory") 1)
  (func (export "guest_alloc") (param i32 i32) (result i32)
    (i32.load (i32.const 0)))
  (func (export "call") (param $op i32) (param $ptr i32) (param $len i32) (param $out i32) (param $cap i32) (param $len_ptr i32)
    (block $alloc
      (block $cd
        (block $ab
          (block $str
            (br_table $str $ab $cd $alloc (local.get $op)))
          (call $log_int (call $answer_str (local.get $ptr) (local.get $len) (local.get $out) (local.get $cap) (local.get $len_ptr)))
          (return))
        (call $log_int (call $answer_ab (local.get $ptr) (local.get $len) (local.get $out) (local.get $cap) (local.get $len_ptr)))
        (return))
      (call $log_int (call $answer_cd (local.get $ptr) (local.get $len) (local.get $out) (local.get $cap) (local.get $len_ptr)))
      (return))
    (block $alloc_cd
      (block $alloc_ab
        (block $alloc_str
          (br_table $alloc_str $alloc_ab $alloc_cd (i32.sub (local.get $op) (i32.const 3))))
        (call $answer_str_alloc (local.get $ptr) (local.get $len) (local.get $out))
        (call $log_int (i32.const -1))
        (return))
      (call $answer_ab_alloc (local.get $ptr) (local.get $len) (local.get $out))
      (call $log_int (i32.const -1))
      (return))
    (call $answer_cd_alloc (local.get $ptr) (local.get $len) (local.get $out))
    (call $log_int (i32.const -1))))
