;; cancelbad: fc.cancel with identifiers the API would refuse. Calls:
;;
;;   bad()   cancels four bad identifiers: invalid UTF-8, one with a NUL, 257 bytes,
;;           and an empty one. Each must be refused with -1; it fails with "identifier
;;           <n> not refused with -1" (n from 1) otherwise.
;;   loop()  cancels the invalid UTF-8 identifier again and again: it succeeds once the
;;           host answers -2 (refused requests count against the per-call limit), fails
;;           with "accepted" if one is accepted, "never limited" after 100000 tries.
;;
;; It dispatches on the method name's first byte, at offset 11 of the envelope, as
;; hostile does.
(module
  (import "fc" "cancel" (func $cancel (param i32 i32) (result i64)))
  (memory (export "memory") 2)
  (data (i32.const 256) "identifier 0 not refused with -1\00")
  (data (i32.const 320) "accepted\00")
  (data (i32.const 384) "never limited\00")
  (data (i32.const 448) "user-\ff\fe")        ;; 7 bytes, invalid UTF-8
  (data (i32.const 464) "user\00x")           ;; 6 bytes, a NUL
  (data (i32.const 1024)
    "{\"abi\": 1, \"name\": \"cancelbad\", \"version\": \"1\", \"calls\": ["
    "{\"name\": \"bad\", \"params\": []}, {\"name\": \"loop\", \"params\": []}]}\00")
  ;; include lib.wat
  (func (export "fc_manifest") (result i64) (call $packz (i32.const 1024)))

  ;; $refused checks that fc.cancel(ptr, len) answers -1; else it writes n into the
  ;; message at 256 and returns false.
  (func $refused (param $n i32) (param $ptr i32) (param $len i32) (result i32)
    (if (i64.eq (call $cancel (local.get $ptr) (local.get $len)) (i64.const -1))
      (then (return (i32.const 1))))
    (i32.store8 (i32.const 267) (i32.add (i32.const 0x30) (local.get $n)))
    (i32.const 0))

  (func (export "fc_invoke") (param $ptr i32) (param $len i32) (result i64)
    (local $i i32) (local $r i64)
    (if (i32.eq (i32.load8_u (i32.add (local.get $ptr) (i32.const 11))) (i32.const 0x62)) ;; b: bad
      (then
        (memory.fill (i32.const 4096) (i32.const 0x61) (i32.const 257))
        (if (i32.eqz (call $refused (i32.const 1) (i32.const 448) (i32.const 7))) (then (return (call $packz (i32.const 256)))))
        (if (i32.eqz (call $refused (i32.const 2) (i32.const 464) (i32.const 6))) (then (return (call $packz (i32.const 256)))))
        (if (i32.eqz (call $refused (i32.const 3) (i32.const 4096) (i32.const 257))) (then (return (call $packz (i32.const 256)))))
        (if (i32.eqz (call $refused (i32.const 4) (i32.const 4096) (i32.const 0))) (then (return (call $packz (i32.const 256)))))
        (return (i64.const 0))))
    (loop $more
      (local.set $r (call $cancel (i32.const 448) (i32.const 7)))
      (if (i64.eq (local.get $r) (i64.const -2))
        (then (return (i64.const 0))))
      (if (i64.ne (local.get $r) (i64.const -1))
        (then (return (call $packz (i32.const 320)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $more (i32.lt_u (local.get $i) (i32.const 100000))))
    (call $packz (i32.const 384))))
