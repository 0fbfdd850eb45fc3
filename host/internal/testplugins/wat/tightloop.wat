;; tightloop: run() counts to 10 million in a tight loop and succeeds. The benchmarks use
;; it to measure what WithCloseOnContextDone, which checks for termination in loops,
;; costs.
(module
  (memory (export "memory") 2)
  (data (i32.const 1024) "{\"abi\": 1, \"name\": \"tightloop\", \"version\": \"1\", \"calls\": [{\"name\": \"run\", \"params\": []}]}\00")
  ;; include lib.wat
  (func (export "fc_manifest") (result i64) (call $packz (i32.const 1024)))
  (func (export "fc_invoke") (param $ptr i32) (param $len i32) (result i64)
    (local $i i32)
    (loop $more
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $more (i32.lt_u (local.get $i) (i32.const 10000000))))
    (i64.const 0)))
