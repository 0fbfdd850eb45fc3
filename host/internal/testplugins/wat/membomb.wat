;; membomb: a memory.grow bomb that also uses what it gets. fill() grows the memory one
;; 64 KiB page at a time and writes a byte into every 4 KiB of each new page (so that
;; every page is really backed by the host), until memory.grow refuses; then it succeeds,
;; leaving an instance whose memory is at the cap. The host's memory must stay within
;; about the cap per running bomb (host/plugin/memory_test.go).
;;
;; churn() logs "churning", then writes all over its first two pages forever: only the
;; time limit, or closing the registry, stops it. Its memory must stay valid for as long
;; as it runs, even when the registry is closed under it.
;;
;; It dispatches on the method name's first byte, at offset 11 of the envelope, as
;; hostile does.
(module
  (import "fc" "log" (func $log (param i32 i32 i32)))
  (memory (export "memory") 2)
  (data (i32.const 512) "churning\00")
  (data (i32.const 1024)
    "{\"abi\": 1, \"name\": \"membomb\", \"version\": \"1\", \"calls\": ["
    "{\"name\": \"fill\", \"params\": []}, {\"name\": \"churn\", \"params\": []}]}\00")
  ;; include lib.wat
  (func (export "fc_manifest") (result i64) (call $packz (i32.const 1024)))
  (func (export "fc_invoke") (param $ptr i32) (param $len i32) (result i64)
    (local $page i32) (local $at i32)
    (if (i32.eq (i32.load8_u (i32.add (local.get $ptr) (i32.const 11))) (i32.const 0x63)) ;; c: churn
      (then
        (call $log (i32.const 1) (i32.const 512) (call $strlen (i32.const 512)))
        (loop $forever
          (i32.store8 (local.get $at) (i32.add (i32.load8_u (local.get $at)) (i32.const 1)))
          (local.set $at (i32.and (i32.add (local.get $at) (i32.const 4093)) (i32.const 0x1ffff)))
          (br $forever))))
    (block $refused
      (loop $more
        (local.set $page (memory.grow (i32.const 1)))
        (br_if $refused (i32.eq (local.get $page) (i32.const -1)))
        (local.set $at (i32.shl (local.get $page) (i32.const 16)))
        (loop $touch
          (i32.store8 (local.get $at) (i32.const 1))
          (local.set $at (i32.add (local.get $at) (i32.const 4096)))
          (br_if $touch (i32.and (local.get $at) (i32.const 0xffff))))
        (br $more)))
    (i64.const 0)))
