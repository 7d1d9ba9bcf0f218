;; A core module where a component is expected: not valid.
(module (func (export "run")))
