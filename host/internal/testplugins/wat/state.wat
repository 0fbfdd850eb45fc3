;; state: a plugin that keeps state with fc.state_get, fc.state_put and fc.state_delete.
;; Calls:
;;
;;   incr()    reads "counter" (decimal text; no value counts as 0) and writes it back
;;             plus one: a get-then-put that must never lose an increment.
;;   doomed()  writes "doomed" = "1", then fails with "doomed on purpose".
;;   own()     writes "mine" = "a", reads it back (a call reads its own writes), deletes
;;             it and reads -4 (not found); fails with "step <n>" at the first answer
;;             that differs.
;;   big()     writes 64 KiB + 1 bytes under "big": succeeds only when refused with -2.
;;   wrong()   passes four bad keys (empty, 257 bytes, a NUL, invalid UTF-8) to each of
;;             the three functions: succeeds only when each is refused with -1, else
;;             fails with "step <n>".
;;   flood()   writes 1 KiB values under distinct keys until refused with -2, then
;;             succeeds ("step 1" if one is refused otherwise, "never limited" after
;;             65536 writes).
;;   loop()    reads "counter" until refused with -2 (sandbox.state.maxReads), then
;;             succeeds ("step 1" on another refusal, "never limited" after 100000).
;;   put()     writes "1" under a key of its own, "put-" and four letters counting the
;;             instance's calls: one blind write of a new key (BenchmarkStatePut).
;;   many()    writes "x" under the 20 keys "key-00" to "key-19" and succeeds: the
;;             plugin's key limit fails it when it commits if the keys do not fit.
;;
;; It dispatches on the method name's first byte, at offset 11 of the envelope, as
;; hostile does.
(module
  (import "fc" "state_get" (func $get (param i32 i32) (result i64)))
  (import "fc" "state_put" (func $put (param i32 i32 i32 i32) (result i64)))
  (import "fc" "state_delete" (func $delete (param i32 i32) (result i64)))
  (import "fc" "result" (func $result (param i32 i32) (result i32)))
  (memory (export "memory") 4)
  (data (i32.const 256) "counter")            ;; 7 bytes
  (data (i32.const 272) "doomed")             ;; 6 bytes
  (data (i32.const 288) "mine")               ;; 4 bytes
  (data (i32.const 296) "a1x")                ;; values: "a", "1", "x"
  (data (i32.const 304) "big")                ;; 3 bytes
  (data (i32.const 320) "doomed on purpose\00")
  (data (i32.const 352) "step 0\00")
  (data (i32.const 368) "never limited\00")
  (data (i32.const 464) "key\00x")            ;; 5 bytes, a NUL
  (data (i32.const 480) "key-\ff\fe")         ;; 6 bytes, invalid UTF-8
  (data (i32.const 512) "flood-AAAA")         ;; 10 bytes, the last 4 vary
  (data (i32.const 544) "key-00")             ;; 6 bytes, the last 2 vary
  (data (i32.const 560) "put-AAAA")           ;; 8 bytes, the last 4 vary
  (global $puts (mut i32) (i32.const 0))
  (data (i32.const 1024)
    "{\"abi\": 1, \"name\": \"state\", \"version\": \"1\", \"calls\": ["
    "{\"name\": \"incr\", \"params\": []}, {\"name\": \"doomed\", \"params\": []}, "
    "{\"name\": \"own\", \"params\": []}, {\"name\": \"big\", \"params\": []}, "
    "{\"name\": \"wrong\", \"params\": []}, {\"name\": \"flood\", \"params\": []}, "
    "{\"name\": \"loop\", \"params\": []}, {\"name\": \"many\", \"params\": []}, "
    "{\"name\": \"put\", \"params\": []}]}\00")
  ;; include lib.wat
  (func (export "fc_manifest") (result i64) (call $packz (i32.const 1024)))

  ;; $step is the failure "step <n>" (n < 10).
  (func $step (param $n i32) (result i64)
    (i32.store8 (i32.const 357) (i32.add (i32.const 0x30) (local.get $n)))
    (call $packz (i32.const 352)))

  (func $incr (result i64)
    (local $r i64) (local $n i64) (local $len i32) (local $i i32) (local $p i32)
    (local.set $r (call $get (i32.const 256) (i32.const 7)))
    (if (i64.ge_s (local.get $r) (i64.const 0))
      (then
        (local.set $len (call $result (i32.const 8192) (i32.const 32)))
        (if (i32.gt_u (local.get $len) (i32.const 20)) (then (return (call $step (i32.const 2)))))
        (loop $digit
          (if (i32.lt_u (local.get $i) (local.get $len))
            (then
              (local.set $n (i64.add (i64.mul (local.get $n) (i64.const 10))
                (i64.extend_i32_u (i32.sub (i32.load8_u (i32.add (i32.const 8192) (local.get $i))) (i32.const 0x30)))))
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br $digit)))))
      (else
        (if (i64.ne (local.get $r) (i64.const -4)) (then (return (call $step (i32.const 1)))))))
    (local.set $n (i64.add (local.get $n) (i64.const 1)))
    (local.set $p (i32.const 8256))
    (loop $format
      (local.set $p (i32.sub (local.get $p) (i32.const 1)))
      (i32.store8 (local.get $p) (i32.add (i32.const 0x30) (i32.wrap_i64 (i64.rem_u (local.get $n) (i64.const 10)))))
      (local.set $n (i64.div_u (local.get $n) (i64.const 10)))
      (br_if $format (i64.ne (local.get $n) (i64.const 0))))
    (if (i64.ne (call $put (i32.const 256) (i32.const 7) (local.get $p) (i32.sub (i32.const 8256) (local.get $p))) (i64.const 0))
      (then (return (call $step (i32.const 3)))))
    (i64.const 0))

  (func $own (result i64)
    (if (i64.ne (call $put (i32.const 288) (i32.const 4) (i32.const 296) (i32.const 1)) (i64.const 0))
      (then (return (call $step (i32.const 1)))))
    (if (i64.ne (call $get (i32.const 288) (i32.const 4)) (i64.const 1))
      (then (return (call $step (i32.const 2)))))
    (drop (call $result (i32.const 8192) (i32.const 1)))
    (if (i32.ne (i32.load8_u (i32.const 8192)) (i32.const 0x61))
      (then (return (call $step (i32.const 3)))))
    (if (i64.ne (call $delete (i32.const 288) (i32.const 4)) (i64.const 0))
      (then (return (call $step (i32.const 4)))))
    (if (i64.ne (call $get (i32.const 288) (i32.const 4)) (i64.const -4))
      (then (return (call $step (i32.const 5)))))
    (i64.const 0))

  ;; $bad says whether each of the three functions refuses the key at ptr with -1.
  (func $bad (param $ptr i32) (param $len i32) (result i32)
    (i32.and
      (i32.and
        (i64.eq (call $get (local.get $ptr) (local.get $len)) (i64.const -1))
        (i64.eq (call $put (local.get $ptr) (local.get $len) (i32.const 296) (i32.const 1)) (i64.const -1)))
      (i64.eq (call $delete (local.get $ptr) (local.get $len)) (i64.const -1))))

  (func $wrong (result i64)
    (memory.fill (i32.const 4096) (i32.const 0x61) (i32.const 257))
    (if (i32.eqz (call $bad (i32.const 448) (i32.const 0))) (then (return (call $step (i32.const 1)))))
    (if (i32.eqz (call $bad (i32.const 4096) (i32.const 257))) (then (return (call $step (i32.const 2)))))
    (if (i32.eqz (call $bad (i32.const 464) (i32.const 5))) (then (return (call $step (i32.const 3)))))
    (if (i32.eqz (call $bad (i32.const 480) (i32.const 6))) (then (return (call $step (i32.const 4)))))
    (i64.const 0))

  (func $flood (result i64)
    (local $i i32) (local $r i64)
    (memory.fill (i32.const 16384) (i32.const 0x76) (i32.const 1024))
    (loop $more
      (i32.store8 (i32.const 518) (i32.add (i32.const 0x41) (i32.and (local.get $i) (i32.const 15))))
      (i32.store8 (i32.const 519) (i32.add (i32.const 0x41) (i32.and (i32.shr_u (local.get $i) (i32.const 4)) (i32.const 15))))
      (i32.store8 (i32.const 520) (i32.add (i32.const 0x41) (i32.and (i32.shr_u (local.get $i) (i32.const 8)) (i32.const 15))))
      (i32.store8 (i32.const 521) (i32.add (i32.const 0x41) (i32.and (i32.shr_u (local.get $i) (i32.const 12)) (i32.const 15))))
      (local.set $r (call $put (i32.const 512) (i32.const 10) (i32.const 16384) (i32.const 1024)))
      (if (i64.eq (local.get $r) (i64.const -2)) (then (return (i64.const 0))))
      (if (i64.ne (local.get $r) (i64.const 0)) (then (return (call $step (i32.const 1)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $more (i32.lt_u (local.get $i) (i32.const 65536))))
    (call $packz (i32.const 368)))

  (func $loop (result i64)
    (local $i i32) (local $r i64)
    (loop $more
      (local.set $r (call $get (i32.const 256) (i32.const 7)))
      (if (i64.eq (local.get $r) (i64.const -2)) (then (return (i64.const 0))))
      (if (i32.and (i64.lt_s (local.get $r) (i64.const 0)) (i64.ne (local.get $r) (i64.const -4)))
        (then (return (call $step (i32.const 1)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $more (i32.lt_u (local.get $i) (i32.const 100000))))
    (call $packz (i32.const 368)))

  (func $many (result i64)
    (local $i i32)
    (loop $more
      (i32.store8 (i32.const 548) (i32.add (i32.const 0x30) (i32.div_u (local.get $i) (i32.const 10))))
      (i32.store8 (i32.const 549) (i32.add (i32.const 0x30) (i32.rem_u (local.get $i) (i32.const 10))))
      (if (i64.ne (call $put (i32.const 544) (i32.const 6) (i32.const 298) (i32.const 1)) (i64.const 0))
        (then (return (call $step (i32.const 1)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $more (i32.lt_u (local.get $i) (i32.const 20))))
    (i64.const 0))

  (func $putNext (result i64)
    (local $i i32)
    (local.set $i (global.get $puts))
    (global.set $puts (i32.add (local.get $i) (i32.const 1)))
    (i32.store8 (i32.const 564) (i32.add (i32.const 0x41) (i32.and (local.get $i) (i32.const 15))))
    (i32.store8 (i32.const 565) (i32.add (i32.const 0x41) (i32.and (i32.shr_u (local.get $i) (i32.const 4)) (i32.const 15))))
    (i32.store8 (i32.const 566) (i32.add (i32.const 0x41) (i32.and (i32.shr_u (local.get $i) (i32.const 8)) (i32.const 15))))
    (i32.store8 (i32.const 567) (i32.add (i32.const 0x41) (i32.and (i32.shr_u (local.get $i) (i32.const 12)) (i32.const 15))))
    (if (i64.ne (call $put (i32.const 560) (i32.const 8) (i32.const 297) (i32.const 1)) (i64.const 0))
      (then (return (call $step (i32.const 1)))))
    (i64.const 0))

  (func (export "fc_invoke") (param $ptr i32) (param $len i32) (result i64)
    (local $m i32)
    (local.set $m (i32.load8_u (i32.add (local.get $ptr) (i32.const 11))))
    (if (i32.eq (local.get $m) (i32.const 0x69)) (then (return (call $incr))))   ;; i
    (if (i32.eq (local.get $m) (i32.const 0x64))                                   ;; d
      (then
        (drop (call $put (i32.const 272) (i32.const 6) (i32.const 297) (i32.const 1)))
        (return (call $packz (i32.const 320)))))
    (if (i32.eq (local.get $m) (i32.const 0x6f)) (then (return (call $own))))    ;; o
    (if (i32.eq (local.get $m) (i32.const 0x62))                                   ;; b
      (then
        (if (i64.eq (call $put (i32.const 304) (i32.const 3) (i32.const 65536) (i32.const 65537)) (i64.const -2))
          (then (return (i64.const 0))))
        (return (call $step (i32.const 1)))))
    (if (i32.eq (local.get $m) (i32.const 0x77)) (then (return (call $wrong))))  ;; w
    (if (i32.eq (local.get $m) (i32.const 0x66)) (then (return (call $flood))))  ;; f
    (if (i32.eq (local.get $m) (i32.const 0x6c)) (then (return (call $loop))))   ;; l
    (if (i32.eq (local.get $m) (i32.const 0x70)) (then (return (call $putNext))))  ;; p
    (call $many)))
