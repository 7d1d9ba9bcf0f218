;; A component that exports no `run` (only `other`): refused before anything runs, naming what it
;; does export.
(component
  (core module $Main (func (export "other")))
  (core instance $main (instantiate $Main))
  (func (export "other") (canon lift (core func $main "other")))
)
