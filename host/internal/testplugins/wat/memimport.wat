;; memimport: invalid: it imports its memory instead of exporting its own.
(module
  (import "env" "memory" (memory 1))
  (export "memory" (memory 0))
  (data (i32.const 1024) "{\"abi\": 1, \"name\": \"memimport\", \"calls\": []}\00")
  ;; include lib.wat
  (func (export "fc_manifest") (result i64) (call $packz (i32.const 1024)))
  (func (export "fc_invoke") (param $ptr i32) (param $len i32) (result i64) (i64.const 0))
)
