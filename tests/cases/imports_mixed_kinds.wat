;; Two imports the ABI does not have, a function declared before a global. The host reports one
;; of them, and the same one on every runtime (wasmi lists imports grouped by kind, the others in
;; declaration order: the host sorts them by name itself).
(module
  (import "env" "zz_function" (func))
  (import "env" "aa_global" (global i32))
  (memory (export "memory") 1)
  (func (export "run")))
