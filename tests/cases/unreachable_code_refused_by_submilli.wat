;; A valid module that submilli-wasm 0.1.12 refuses to compile: "internal compiler invariant
;; violated: control operand height underflow" (in code made unreachable by `br 0`, which is
;; stack-polymorphic). Every other runtime loads it and runs `run`. Found by the generated-module
;; test (this is its shrunk module, with `memory` and `run` exported); submilli golden file. wasm3
;; refuses it too, as beyond WebAssembly 1.0 (a block with parameters: multi-value).
(module
  (type (;0;) (func (param i32)))
  (type (;1;) (func))
  (type (;2;) (func (param i32 i32 i32)))
  (import "env" "log_int" (func (;0;) (type 0) (param i32)))
  (memory (;0;) 1)
  (export "memory" (memory 0))
  (export "run" (func 1))
  (global (;0;) (mut i64) i64.const 0)
  (global (;1;) (mut i32) i32.const 0)
  (func (;1;) (type 1))
  (func (;2;) (type 2) (param i32 i32 i32)
    (local f64 i32 i64 i32 f32 f32 f32)
    local.get 0
    call 0
    local.get 1
    call 0
    local.get 2
    call 0
    br 0
    local.get 1
    call 0
    i64.const 1
    i32.const 1
    f64.convert_i32_s
    return
    call 1
    f32.demote_f64
    i32.reinterpret_f32
    f32.load offset=36390
    f32.floor
    local.tee 7
    f32.const 0x1.1e18dap+75 (;=42220476000000000000000;)
    i32.const 1
    select
    f32.nearest
    local.tee 8
    f32.const nan (;=NaN;)
    local.get 8
    local.get 8
    f32.eq
    select
    i32.const 0
    br_table 0 0
    i64.const 0
    block (result i64) ;; label = @1
      block (type 1) ;; label = @2
        loop (type 1) ;; label = @3
          local.get 1
          loop (type 0) (param i32) ;; label = @4
            call 1
            i64.load offset=65352 align=4
            i64.extend32_s
            i64.extend8_s
            i64.extend32_s
            i32.const 1
            br_table 1 (;@3;) 2 (;@2;) 4 2 (;@2;)
            f32.convert_i64_s
            call 1
            i32.reinterpret_f32
            global.get 1
            i32.xor
            global.set 1
          end
        end
      end
      i64.const 0
    end
    global.get 0
    i64.xor
    global.set 0
    global.get 0
    i64.xor
    global.set 0
    i32.reinterpret_f32
    global.get 1
    i32.xor
    global.set 1
    global.get 0
    i64.xor
    global.set 0
  )
)
