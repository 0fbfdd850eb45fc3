;; liar: loads, but its manifest declares a call its fc_invoke does not know: work()
;; logs "work" and succeeds; ghost() fails with "liar: no call named ghost here". The
;; host cannot tell at load time; the call fails with the guest's reason.
;; It dispatches on the method name's first byte at offset 11 of the envelope, like
;; hostile.wat.
(module
  (import "fc" "log" (func $log (param i32 i32 i32)))
  (memory (export "memory") 2)
  (data (i32.const 256) "work\00")
  (data (i32.const 320) "liar: no call named ghost here\00")
  (data (i32.const 1024) "{\"abi\": 1, \"name\": \"liar\", \"calls\": [{\"name\": \"work\", \"params\": []}, {\"name\": \"ghost\", \"params\": []}]}\00")
  ;; include lib.wat
  (func (export "fc_manifest") (result i64) (call $packz (i32.const 1024)))
  (func (export "fc_invoke") (param $ptr i32) (param $len i32) (result i64)
    (if (i32.eq (i32.load8_u (i32.add (local.get $ptr) (i32.const 11))) (i32.const 0x77)) ;; w: work
      (then
        (call $log (i32.const 1) (i32.const 256) (i32.const 4))
        (return (i64.const 0))))
    (call $packz (i32.const 320)))
)
