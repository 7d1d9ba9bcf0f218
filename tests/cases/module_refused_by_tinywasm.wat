;; A valid module (32-bit memory) that tinywasm-parser 0.10 refuses: "logical operand width
;; mismatch". Every other runtime loads it. Found by the generated-module test (its shrunk module,
;; with `memory` and `run` exported); tinywasm golden file. wasm3 refuses it too, as beyond
;; WebAssembly 1.0 (a data count section: bulk memory).
(module
  (type (;0;) (func (param i64)))
  (type (;1;) (func))
  (type (;2;) (func (result i32)))
  (type (;3;) (func (param i64) (result i32)))
  (type (;4;) (func (param i64) (result i32)))
  (type (;5;) (func (param f32)))
  (memory (;0;) 2)
  (export "memory" (memory 0))
  (export "run" (func 0))
  (global (;0;) i64 i64.const 0)
  (global (;1;) (mut i64) i64.const 0)
  (global (;2;) (mut i32) i32.const 0)
  (global (;3;) (mut i32) i32.const 0)
  (global (;4;) (mut i64) i64.const 0)
  (func (;0;) (type 2) (result i32)
    i32.const 0
  )
  (func (;1;) (type 3) (param i64) (result i32)
    unreachable
  )
  (func (;2;) (type 5) (param f32)
    (local i32 f64 f64 f64 f32 i32 i64 i32 i64)
    call 0
    local.set 6
    block ;; label = @1
      block ;; label = @2
        memory.size
        i32.const 65536
        i32.mul
        i32.const 16810
        local.get 6
        i32.add
        i32.le_u
        br_if 0 (;@2;)
        local.get 6
        i32.const 0
        i32.le_s
        br_if 0 (;@2;)
        local.get 6
        i64.load32_s offset=16802 align=1
        local.set 7
        br 1 (;@1;)
      end
      i64.const 0
      local.set 7
    end
    local.get 7
    global.get 0
    br 0
    block (type 0) (param i64) ;; label = @1
      global.get 0
      data.drop 1
      data.drop 0
      local.get 4
      nop
      global.get 0
      br 0 (;@1;)
      global.get 0
      br 1
      memory.size
      select
      loop (result f32) ;; label = @2
        memory.size
        br_table 0 (;@2;) 1 (;@1;) 2 0 (;@2;)
        data.drop 0
        local.get 0
        local.tee 0
        global.get 0
        loop (type 0) (param i64) ;; label = @3
          br 2 (;@1;)
          block (type 4) (param i64) (result i32) ;; label = @4
            call 1
            local.set 8
            block ;; label = @5
              block ;; label = @6
                memory.size
                i32.const 65536
                i32.mul
                i32.const 115955
                local.get 8
                i32.add
                i32.le_u
                br_if 0 (;@6;)
                local.get 8
                i32.const 0
                i32.le_s
                br_if 0 (;@6;)
                local.get 8
                i64.load32_u offset=115947 align=2
                local.set 9
                br 1 (;@5;)
              end
              i64.const 0
              local.set 9
            end
            local.get 9
            br 1 (;@3;)
            loop (type 2) (result i32) ;; label = @5
              nop
              br 3 (;@2;)
              i32.const 1
            end
          end
          global.get 3
          i32.xor
          global.set 3
        end
      end
      i32.reinterpret_f32
      global.get 2
      i32.xor
      global.set 2
      global.get 1
      i64.xor
      global.set 1
      i64.reinterpret_f64
      global.get 4
      i64.xor
      global.set 4
      global.get 1
      i64.xor
      global.set 1
      global.get 1
      i64.xor
      global.set 1
    end
    global.get 1
    i64.xor
    global.set 1
  )
  (data (;0;) "")
  (data (;1;) "")
)
