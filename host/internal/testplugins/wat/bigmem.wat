;; bigmem: invalid: it asks for 128 MiB of memory at start, more than the default limit.
(module
  (memory (export "memory") 2048)
  (data (i32.const 1024) "{\"abi\": 1, \"name\": \"bigmem\", \"calls\": []}\00")
  ;; include lib.wat
  (func (export "fc_manifest") (result i64) (call $packz (i32.const 1024)))
  (func (export "fc_invoke") (param $ptr i32) (param $len i32) (result i64) (i64.const 0))
)
