;; wrongtype: invalid: it exports fc_invoke as (i32) -> i32.
(module
  (memory (export "memory") 2)
  (data (i32.const 1024) "{\"abi\": 1, \"name\": \"wrongtype\", \"calls\": []}\00")
  ;; include lib.wat
  (func (export "fc_manifest") (result i64) (call $packz (i32.const 1024)))
  (func (export "fc_invoke") (param $ptr i32) (result i32) (i32.const 0))
)
