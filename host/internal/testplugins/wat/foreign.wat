;; foreign: invalid: it imports env.now, a function of neither fc nor WASI.
(module
  (import "env" "now" (func $now (result i64)))
  (memory (export "memory") 2)
  (data (i32.const 1024) "{\"abi\": 1, \"name\": \"foreign\", \"calls\": []}\00")
  ;; include lib.wat
  (func (export "fc_manifest") (result i64) (call $packz (i32.const 1024)))
  (func (export "fc_invoke") (param $ptr i32) (param $len i32) (result i64) (i64.const 0))
)
