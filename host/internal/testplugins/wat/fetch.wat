;; fetch: outbound HTTP (fc.http) and configuration (fc.config). Calls:
;;
;;   fetch(request)  passes request (an fc.http request object) to fc.http; logs the
;;                   response document (fc.result) at info level and succeeds, or fails
;;                   with "fc.http -<code>: <fc.last_error>".
;;   retry(request)  does the same, then fails with "failing after the request" (to be
;;                   retried).
;;   loop(request)   makes the request again and again until fc.http refuses it, then
;;                   fails as fetch does.
;;   config(key)     reads fc.config(key); fails with "fc.config -<code>: <reason>" when
;;                   refused. When the plugin's configuration has a "sink" value, a URL,
;;                   it POSTs the value there (the body of an fc.http request) and logs
;;                   nothing; otherwise it logs the value at info level.
;;
;; It dispatches on the method name's first byte, at offset 11 of the envelope. The
;; request is the envelope's text from after "request": to the "}" before ,"call":
;; (the envelope is args then call, in that order); the key is the text between
;; "key":" and the next quote (test keys have no escapes).
;;
;; Memory: the envelope from 64 KiB (lib.wat; the tests' are below 128 KiB), messages
;; at 192 KiB, the config value at 256 KiB, the sink at 288 KiB, requests and responses
;; from 320 KiB. The 8 pages declared hold it all for small responses, so that an
;; instance stays within the pool's recycling threshold (twice its fresh memory).
(module
  (import "fc" "http" (func $http (param i32 i32) (result i64)))
  (import "fc" "config" (func $config (param i32 i32) (result i64)))
  (import "fc" "result" (func $result (param i32 i32) (result i32)))
  (import "fc" "last_error" (func $last_error (param i32 i32) (result i32)))
  (import "fc" "log" (func $log (param i32 i32 i32)))
  (memory (export "memory") 8)
  (data (i32.const 256) "fc.http -\00")
  (data (i32.const 288) "fc.config -\00")
  (data (i32.const 320) "failing after the request\00")
  (data (i32.const 384) "\"request\":\00")
  (data (i32.const 416) "},\"call\":\00")
  (data (i32.const 448) "\"key\":\"\00")
  (data (i32.const 480) "sink\00")
  (data (i32.const 512) "{\"method\":\"POST\",\"url\":\"\00")
  (data (i32.const 576) "\",\"body\":\"\00")
  (data (i32.const 608) "\"}\00")
  (data (i32.const 1024)
    "{\"abi\": 1, \"name\": \"fetch\", \"version\": \"1\", \"calls\": ["
    "{\"name\": \"fetch\", \"params\": [{\"name\": \"request\", \"schema\": {\"type\": \"object\"}}]},"
    "{\"name\": \"retry\", \"params\": [{\"name\": \"request\", \"schema\": {\"type\": \"object\"}}]},"
    "{\"name\": \"loop\", \"params\": [{\"name\": \"request\", \"schema\": {\"type\": \"object\"}}]},"
    "{\"name\": \"config\", \"params\": [{\"name\": \"key\", \"schema\": {\"type\": \"string\"}}]}]}\00")
  ;; include lib.wat
  (func (export "fc_manifest") (result i64) (call $packz (i32.const 1024)))

  ;; $ensure grows the memory to hold at least end bytes.
  (func $ensure (param $end i32)
    (local $pages i32)
    (local.set $pages (i32.add (i32.shr_u (local.get $end) (i32.const 16)) (i32.const 1)))
    (if (i32.gt_u (local.get $pages) (memory.size))
      (then (drop (memory.grow (i32.sub (local.get $pages) (memory.size)))))))

  ;; $find is the offset of the NUL-terminated needle in memory[at:at+len], or -1.
  (func $find (param $at i32) (param $len i32) (param $needle i32) (result i32)
    (local $n i32) (local $i i32) (local $j i32)
    (local.set $n (call $strlen (local.get $needle)))
    (block $none
      (loop $next
        (br_if $none (i32.gt_s (i32.add (local.get $i) (local.get $n)) (local.get $len)))
        (local.set $j (i32.const 0))
        (block $differ
          (loop $cmp
            (br_if $differ (i32.ne
              (i32.load8_u (i32.add (i32.add (local.get $at) (local.get $i)) (local.get $j)))
              (i32.load8_u (i32.add (local.get $needle) (local.get $j)))))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br_if $cmp (i32.lt_u (local.get $j) (local.get $n))))
          (return (local.get $i)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (i32.const -1))

  ;; $append copies len bytes from src to dst and returns dst+len.
  (func $append (param $dst i32) (param $src i32) (param $len i32) (result i32)
    (memory.copy (local.get $dst) (local.get $src) (local.get $len))
    (i32.add (local.get $dst) (local.get $len)))

  ;; $fail makes the failure "<prefix><-code>: <last_error>" at 192 KiB.
  (func $fail (param $prefix i32) (param $code i64) (result i64)
    (local $p i32)
    (call $ensure (i32.const 0x40000))
    (local.set $p (call $append (i32.const 0x30000) (local.get $prefix) (call $strlen (local.get $prefix))))
    (i32.store8 (local.get $p) (i32.add (i32.const 0x30) (i32.wrap_i64 (i64.sub (i64.const 0) (local.get $code)))))
    (i32.store16 (i32.add (local.get $p) (i32.const 1)) (i32.const 0x203a)) ;; ": "
    (local.set $p (i32.add (local.get $p) (i32.const 3)))
    (local.set $p (i32.add (local.get $p) (call $last_error (local.get $p) (i32.const 0x10000))))
    (call $pack (i32.const 0x30000) (i32.sub (local.get $p) (i32.const 0x30000))))

  ;; $read copies the last document (n bytes) to dst.
  (func $read (param $dst i32) (param $n i32)
    (call $ensure (i32.add (local.get $dst) (local.get $n)))
    (drop (call $result (local.get $dst) (local.get $n))))

  ;; $request finds the request object in the envelope: it returns (ptr << 32) | len.
  (func $request (param $env i32) (param $len i32) (result i64)
    (local $start i32) (local $end i32)
    (local.set $start (i32.add (i32.add (local.get $env) (call $find (local.get $env) (local.get $len) (i32.const 384)))
      (i32.const 10)))
    (local.set $end (i32.add (local.get $start)
      (call $find (local.get $start) (i32.sub (i32.add (local.get $env) (local.get $len)) (local.get $start)) (i32.const 416))))
    (call $pack (local.get $start) (i32.sub (local.get $end) (local.get $start))))

  ;; $fetch makes the request packed in req once: the response's length, or the code.
  (func $fetch (param $req i64) (result i64)
    (call $http (i32.wrap_i64 (i64.shr_u (local.get $req) (i64.const 32))) (i32.wrap_i64 (local.get $req))))

  (func $config_call (param $env i32) (param $len i32) (result i64)
    (local $key i32) (local $klen i32) (local $r i64) (local $vlen i32) (local $slen i32) (local $p i32)
    (local.set $key (i32.add (i32.add (local.get $env) (call $find (local.get $env) (local.get $len) (i32.const 448)))
      (i32.const 7)))
    (local.set $klen (call $find (local.get $key) (i32.sub (i32.add (local.get $env) (local.get $len)) (local.get $key))
      (i32.const 608))) ;; "} ends the key
    (local.set $r (call $config (local.get $key) (local.get $klen)))
    (if (i64.lt_s (local.get $r) (i64.const 0))
      (then (return (call $fail (i32.const 288) (local.get $r)))))
    (local.set $vlen (i32.wrap_i64 (local.get $r)))
    (call $read (i32.const 0x40000) (local.get $vlen))
    (local.set $r (call $config (i32.const 480) (i32.const 4)))
    (if (i64.lt_s (local.get $r) (i64.const 0))
      (then
        (call $log (i32.const 1) (i32.const 0x40000) (local.get $vlen))
        (return (i64.const 0))))
    (local.set $slen (i32.wrap_i64 (local.get $r)))
    (call $read (i32.const 0x48000) (local.get $slen))
    (call $ensure (i32.const 0x60000))
    (local.set $p (call $append (i32.const 0x50000) (i32.const 512) (call $strlen (i32.const 512))))
    (local.set $p (call $append (local.get $p) (i32.const 0x48000) (local.get $slen)))
    (local.set $p (call $append (local.get $p) (i32.const 576) (call $strlen (i32.const 576))))
    (local.set $p (call $append (local.get $p) (i32.const 0x40000) (local.get $vlen)))
    (local.set $p (call $append (local.get $p) (i32.const 608) (i32.const 2)))
    (local.set $r (call $http (i32.const 0x50000) (i32.sub (local.get $p) (i32.const 0x50000))))
    (if (i64.lt_s (local.get $r) (i64.const 0))
      (then (return (call $fail (i32.const 256) (local.get $r)))))
    (i64.const 0))

  (func (export "fc_invoke") (param $ptr i32) (param $len i32) (result i64)
    (local $m i32) (local $req i64) (local $r i64)
    (local.set $m (i32.load8_u (i32.add (local.get $ptr) (i32.const 11))))
    (if (i32.eq (local.get $m) (i32.const 0x63)) ;; c: config
      (then (return (call $config_call (local.get $ptr) (local.get $len)))))
    (local.set $req (call $request (local.get $ptr) (local.get $len)))
    (if (i32.eq (local.get $m) (i32.const 0x6c)) ;; l: loop
      (then
        (loop $again
          (local.set $r (call $fetch (local.get $req)))
          (br_if $again (i64.ge_s (local.get $r) (i64.const 0))))
        (return (call $fail (i32.const 256) (local.get $r)))))
    (local.set $r (call $fetch (local.get $req)))
    (if (i64.lt_s (local.get $r) (i64.const 0))
      (then (return (call $fail (i32.const 256) (local.get $r)))))
    (call $read (i32.const 0x50000) (i32.wrap_i64 (local.get $r)))
    (call $log (i32.const 1) (i32.const 0x50000) (i32.wrap_i64 (local.get $r)))
    (if (i32.eq (local.get $m) (i32.const 0x72)) ;; r: retry
      (then (return (call $packz (i32.const 320)))))
    (i64.const 0)))
