;; hostile: a plugin whose calls misbehave, one way each, to show that the host survives
;; them. Every call takes no arguments:
;;
;;   ok()       succeeds, logging "ok"
;;   trap()     traps (unreachable)
;;   loop()     loops forever: only the time limit stops it
;;   spin()     loops forever calling fc.log: the time limit stops it inside host calls too
;;   grow()     grows memory 1 MiB at a time until refused, logs, then traps
;;   recurse()  recurses without end: a stack overflow
;;   calls()    a binary recursion 60 deep, without loops: 2^60 calls within the stack
;;              limit, which only the time limit (checked at calls) stops
;;   flood()    writes 100000 log lines and as many stdout lines (beyond the output cap)
;;   spam()     schedules follow-ups until refused with -2 (the limit), then succeeds;
;;              fails if refused otherwise, or never
;;   exit()     calls WASI proc_exit(3)
;;   badptr()   passes fc.log and fc.schedule pointers outside memory (schedule must
;;              answer -1), then returns an error message outside memory
;;
;; It dispatches on the method name's first byte, which it finds at offset 11 of the
;; envelope: this host writes {"method":"...", first (test plugin only: the ABI does not
;; promise any key order).
(module
  (import "fc" "log" (func $log (param i32 i32 i32)))
  (import "fc" "schedule" (func $schedule (param i32 i32) (result i64)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)

  (data (i32.const 256) "ok\00")
  (data (i32.const 320) "memory exhausted\00")
  (data (i32.const 384) "flood flood flood flood flood flood flood flood flood flood flood flood flood flood flood\0a\00")
  (data (i32.const 512) "{\"method\": \"ok\"}\00")
  (data (i32.const 576) "schedule was never refused\00")
  (data (i32.const 640) "schedule refused, but not for the limit\00")
  (data (i32.const 704) "schedule accepted a pointer outside memory\00")
  (data (i32.const 768) "unknown method\00")
  (data (i32.const 832) "spinning\00")
  (data (i32.const 1024)
    "{\"abi\": 1, \"name\": \"hostile\", \"version\": \"1\", \"calls\": ["
    "{\"name\": \"ok\", \"params\": []}, {\"name\": \"trap\", \"params\": []},"
    "{\"name\": \"loop\", \"params\": []}, {\"name\": \"spin\", \"params\": []},"
    "{\"name\": \"grow\", \"params\": []},"
    "{\"name\": \"recurse\", \"params\": []}, {\"name\": \"flood\", \"params\": []},"
    "{\"name\": \"spam\", \"params\": []}, {\"name\": \"exit\", \"params\": []},"
    "{\"name\": \"badptr\", \"params\": []}, {\"name\": \"calls\", \"params\": []}]}\00")
  ;; include lib.wat

  (func (export "fc_manifest") (result i64) (call $packz (i32.const 1024)))

  (func $recurse (param $n i32) (result i32)
    (i32.add (i32.const 1) (call $recurse (i32.add (local.get $n) (i32.const 1)))))

  (func $fanout (param $n i32) (result i32)
    (if (result i32) (i32.eqz (local.get $n))
      (then (i32.const 0))
      (else (i32.add (call $fanout (i32.sub (local.get $n) (i32.const 1)))
                     (call $fanout (i32.sub (local.get $n) (i32.const 1)))))))

  (func (export "fc_invoke") (param $ptr i32) (param $len i32) (result i64)
    (local $c i32) (local $i i32) (local $r i64)
    (local.set $c (i32.load8_u (i32.add (local.get $ptr) (i32.const 11))))
    (if (i32.eq (local.get $c) (i32.const 0x6f)) ;; o: ok
      (then
        (call $log (i32.const 1) (i32.const 256) (i32.const 2))
        (return (i64.const 0))))
    (if (i32.eq (local.get $c) (i32.const 0x74)) ;; t: trap
      (then unreachable))
    (if (i32.eq (local.get $c) (i32.const 0x6c)) ;; l: loop
      (then (loop $forever (br $forever))))
    (if (i32.eq (local.get $c) (i32.const 0x67)) ;; g: grow
      (then
        (block $refused
          (loop $more
            (br_if $refused (i32.eq (memory.grow (i32.const 16)) (i32.const -1)))
            (br $more)))
        (call $log (i32.const 3) (i32.const 320) (call $strlen (i32.const 320)))
        unreachable))
    (if (i32.eq (local.get $c) (i32.const 0x72)) ;; r: recurse
      (then (drop (call $recurse (i32.const 0)))))
    (if (i32.eq (local.get $c) (i32.const 0x63)) ;; c: calls
      (then (drop (call $fanout (i32.const 60)))))
    (if (i32.eq (local.get $c) (i32.const 0x66)) ;; f: flood
      (then
        ;; an iovec at 128: {ptr 384, len of the line}
        (i32.store (i32.const 128) (i32.const 384))
        (i32.store (i32.const 132) (call $strlen (i32.const 384)))
        (loop $more
          (call $log (i32.const 1) (i32.const 384) (i32.sub (call $strlen (i32.const 384)) (i32.const 1)))
          (drop (call $fd_write (i32.const 1) (i32.const 128) (i32.const 1) (i32.const 144)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $more (i32.lt_u (local.get $i) (i32.const 100000))))
        (return (i64.const 0))))
    (if (i32.eq (local.get $c) (i32.const 0x73)) ;; s: spin or spam
      (then
        (if (i32.eq (i32.load8_u (i32.add (local.get $ptr) (i32.const 12))) (i32.const 0x70)) ;; sp
          (then
            (if (i32.eq (i32.load8_u (i32.add (local.get $ptr) (i32.const 13))) (i32.const 0x69)) ;; spi: spin
              (then (loop $forever
                (call $log (i32.const 0) (i32.const 832) (i32.const 8))
                (br $forever))))
            ;; spam
            (loop $more
              (local.set $r (call $schedule (i32.const 512) (call $strlen (i32.const 512))))
              (if (i64.eq (local.get $r) (i64.const -2))
                (then (return (i64.const 0))))
              (if (i64.ne (local.get $r) (i64.const 0))
                (then (return (call $packz (i32.const 640)))))
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br_if $more (i32.lt_u (local.get $i) (i32.const 1000000))))
            (return (call $packz (i32.const 576)))))))
    (if (i32.eq (local.get $c) (i32.const 0x65)) ;; e: exit
      (then (call $proc_exit (i32.const 3))))
    (if (i32.eq (local.get $c) (i32.const 0x62)) ;; b: badptr
      (then
        (call $log (i32.const 1) (i32.const 0xfffffff0) (i32.const 100))
        (if (i64.ne (call $schedule (i32.const 0xfffffff0) (i32.const 100)) (i64.const -1))
          (then (return (call $packz (i32.const 704)))))
        (return (call $pack (i32.const 0xfffffff0) (i32.const 100)))))
    (call $packz (i32.const 768))))
