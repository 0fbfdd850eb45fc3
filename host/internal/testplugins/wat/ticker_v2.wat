;; ticker_v2: version 2.0.0 of the ticker plugin (its manifest says "ticker"), compatible with 1.0.0: tick and slow unchanged, tock() added.
;; Its calls succeed and do nothing, but slow(), which sleeps 1.5 s (WASI poll_oneoff):
;; fc_invoke tells them apart by the first letter of the method, which the envelope
;; ({"method":"...) carries at byte 11. The hot-reload tests swap the ticker versions
;; while calls run and read which one ran each call from the history.
(module
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll_oneoff (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (data (i32.const 1024)
    "{\"abi\": 1, \"name\": \"ticker\", \"version\": \"2.0.0\", \"calls\": ["
    "{\"name\": \"tick\", \"params\": [{\"name\": \"n\", \"schema\": {\"type\": \"integer\"}}]}," "{\"name\": \"slow\", \"params\": []}" ",{\"name\": \"tock\", \"params\": []}" "]}\00")
  ;; include lib.wat
  (func (export "fc_manifest") (result i64) (call $packz (i32.const 1024)))
  (func (export "fc_invoke") (param $ptr i32) (param $len i32) (result i64)
    (if (i32.eq (i32.load8_u (i32.add (local.get $ptr) (i32.const 11))) (i32.const 115)) ;; 's'
      (then
        ;; one clock subscription at 512: relative, 1.5 s, on CLOCK_MONOTONIC
        (i64.store (i32.const 512) (i64.const 0))
        (i32.store8 (i32.const 520) (i32.const 0))
        (i32.store (i32.const 528) (i32.const 1))
        (i64.store (i32.const 536) (i64.const 1500000000))
        (i64.store (i32.const 544) (i64.const 0))
        (i32.store16 (i32.const 552) (i32.const 0))
        (drop (call $poll_oneoff (i32.const 512) (i32.const 600) (i32.const 1) (i32.const 700)))))
    (i64.const 0)))
