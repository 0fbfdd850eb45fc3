;; command: invalid: built as a command (it exports _start) instead of a reactor.
(module
  (memory (export "memory") 2)
  (data (i32.const 1024) "{\"abi\": 1, \"name\": \"command\", \"calls\": []}\00")
  ;; include lib.wat
  (func (export "_start"))
  (func (export "fc_manifest") (result i64) (call $packz (i32.const 1024)))
  (func (export "fc_invoke") (param $ptr i32) (param $len i32) (result i64) (i64.const 0)))
