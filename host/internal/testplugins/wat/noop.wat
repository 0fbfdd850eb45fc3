;; noop: the smallest well-behaved plugin. One call, noop(), that does nothing and
;; succeeds; no imports at all. The benchmarks use it to measure the host's own cost per
;; call.
(module
  (memory (export "memory") 2)
  (data (i32.const 1024) "{\"abi\": 1, \"name\": \"noop\", \"version\": \"1\", \"calls\": [{\"name\": \"noop\", \"params\": []}]}\00")
  ;; include lib.wat
  (func (export "fc_manifest") (result i64) (call $packz (i32.const 1024)))
  (func (export "fc_invoke") (param $ptr i32) (param $len i32) (result i64) (i64.const 0)))
