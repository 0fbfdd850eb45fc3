;; bufferbomb: fill() makes fc.schedule requests of 64 KiB each (valid JSON: a call of
;; "echo" whose one argument pads it) until the host refuses one with -2, then fails with
;; the host's reason (fc.last_error) as its error message: the per-call byte budget for
;; buffered requests must stop it long before the count limit does. It fails with
;; "never refused" after 100000 requests, and with "refused otherwise" on any other
;; refusal.
(module
  (import "fc" "schedule" (func $schedule (param i32 i32) (result i64)))
  (import "fc" "last_error" (func $last_error (param i32 i32) (result i32)))
  (memory (export "memory") 4)
  (data (i32.const 256) "never refused\00")
  (data (i32.const 320) "refused otherwise\00")
  (data (i32.const 1024)
    "{\"abi\": 1, \"name\": \"bufferbomb\", \"version\": \"1\", \"calls\": [{\"name\": \"fill\", \"params\": []}]}\00")
  ;; the request, 65536 bytes at 131072: this prefix, padding, and "}} at the end
  (data (i32.const 131072) "{\"method\": \"echo\", \"args\": {\"text\": \"")
  ;; include lib.wat
  (func (export "fc_manifest") (result i64) (call $packz (i32.const 1024)))
  (func (export "fc_invoke") (param $ptr i32) (param $len i32) (result i64)
    (local $i i32) (local $r i64) (local $n i32)
    (memory.fill (i32.const 131109) (i32.const 0x61) (i32.const 65496)) ;; 131109 + 65496 = 196605
    (i32.store8 (i32.const 196605) (i32.const 0x22)) ;; "
    (i32.store8 (i32.const 196606) (i32.const 0x7d)) ;; }
    (i32.store8 (i32.const 196607) (i32.const 0x7d)) ;; }
    (loop $more
      (local.set $r (call $schedule (i32.const 131072) (i32.const 65536)))
      (if (i64.eq (local.get $r) (i64.const -2))
        (then
          ;; fail with the reason, read into 2048
          (local.set $n (call $last_error (i32.const 2048) (i32.const 1024)))
          (return (call $pack (i32.const 2048) (select (local.get $n) (i32.const 1024) (i32.lt_u (local.get $n) (i32.const 1024)))))))
      (if (i64.ne (local.get $r) (i64.const 0))
        (then (return (call $packz (i32.const 320)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $more (i32.lt_u (local.get $i) (i32.const 100000))))
    (call $packz (i32.const 256))))
