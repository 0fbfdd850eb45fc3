;; cannotrun: invalid: its manifest declares two calls, but the module cannot run them:
;; its fc_invoke is a global, not a function.
(module
  (memory (export "memory") 2)
  (global (export "fc_invoke") i32 (i32.const 0))
  (data (i32.const 1024) "{\"abi\": 1, \"name\": \"cannotrun\", \"calls\": [{\"name\": \"run\", \"params\": []}, {\"name\": \"stop\", \"params\": []}]}\00")
  ;; include lib.wat
  (func (export "fc_manifest") (result i64) (call $packz (i32.const 1024)))
)
