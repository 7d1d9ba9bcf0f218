;; The module imports its memory instead of exporting it.
(module
  (import "env" "memory" (memory 1))
  (func (export "run")))
