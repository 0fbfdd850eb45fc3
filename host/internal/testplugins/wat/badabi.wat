;; badabi: invalid: its manifest declares ABI version 2, which the host does not know.
(module
  (memory (export "memory") 2)
  (data (i32.const 1024) "{\"abi\": 2, \"name\": \"badabi\", \"calls\": []}\00")
  ;; include lib.wat
  (func (export "fc_manifest") (result i64) (call $packz (i32.const 1024)))
  (func (export "fc_invoke") (param $ptr i32) (param $len i32) (result i64) (i64.const 0))
)
