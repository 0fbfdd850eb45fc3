;; tablebomb: a plugin that grows its function table, which has no declared maximum.
;; Each call takes no arguments:
;;
;;   bomb()   grows the table by 2^27 elements (1 GiB of host memory in wazero): succeeds
;;            when table.grow answers -1, fails with "table.grow succeeded" otherwise
;;   small()  grows the table by 8 elements, within any table limit, and succeeds
;;   size()   logs "table size <n>" with the table's size in decimal
;;
;; It dispatches on the method name's first byte, at offset 11 of the envelope (as
;; hostile.wat does).
(module
  (import "fc" "log" (func $log (param i32 i32 i32)))
  (memory (export "memory") 2)
  (table $t 4 funcref)
  (data (i32.const 256) "table.grow succeeded\00")
  (data (i32.const 320) "table size ")
  (data (i32.const 1024)
    "{\"abi\": 1, \"name\": \"tablebomb\", \"version\": \"1\", \"calls\": ["
    "{\"name\": \"bomb\", \"params\": []}, {\"name\": \"small\", \"params\": []},"
    "{\"name\": \"size\", \"params\": []}]}\00")
  ;; include lib.wat

  (func (export "fc_manifest") (result i64) (call $packz (i32.const 1024)))

  ;; $decimal writes n in decimal at 331 (after "table size ") and returns its length.
  (func $decimal (param $n i32) (result i32)
    (local $len i32) (local $m i32) (local $i i32)
    (local.set $m (local.get $n))
    (loop $count
      (local.set $len (i32.add (local.get $len) (i32.const 1)))
      (local.set $m (i32.div_u (local.get $m) (i32.const 10)))
      (br_if $count (local.get $m)))
    (local.set $i (local.get $len))
    (loop $digit
      (local.set $i (i32.sub (local.get $i) (i32.const 1)))
      (i32.store8 (i32.add (i32.const 331) (local.get $i))
        (i32.add (i32.const 0x30) (i32.rem_u (local.get $n) (i32.const 10))))
      (local.set $n (i32.div_u (local.get $n) (i32.const 10)))
      (br_if $digit (local.get $i)))
    (local.get $len))

  (func (export "fc_invoke") (param $ptr i32) (param $len i32) (result i64)
    (local $c i32)
    (local.set $c (i32.load8_u (i32.add (local.get $ptr) (i32.const 11))))
    (if (i32.eq (local.get $c) (i32.const 0x62)) ;; b: bomb
      (then
        (if (i32.eq (table.grow $t (ref.null func) (i32.const 0x8000000)) (i32.const -1))
          (then (return (i64.const 0))))
        (return (call $packz (i32.const 256)))))
    (if (i32.eq (local.get $c) (i32.const 0x73)) ;; s: small or size
      (then
        (if (i32.eq (i32.load8_u (i32.add (local.get $ptr) (i32.const 12))) (i32.const 0x6d)) ;; sm: small
          (then
            (drop (table.grow $t (ref.null func) (i32.const 8)))
            (return (i64.const 0))))
        (call $log (i32.const 1) (i32.const 320)
          (i32.add (i32.const 11) (call $decimal (table.size $t))))
        (return (i64.const 0))))
    unreachable)
)
