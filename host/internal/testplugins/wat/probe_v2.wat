;; probe_v2: a would-be next version of the probe plugin (its manifest names it
;; "probe"), for the pre-deploy check: echo(text) and sleep(ms) keep their signatures,
;; record(label) now takes an integer, counter() is unchanged, and every other call of
;; the probe is gone. Its calls do nothing and succeed.
(module
  (memory (export "memory") 2)
  (data (i32.const 1024)
    "{\"abi\": 1, \"name\": \"probe\", \"version\": \"2.0.0\", \"calls\": ["
    "{\"name\": \"echo\", \"params\": [{\"name\": \"text\", \"schema\": {\"type\": \"string\"}}]},"
    "{\"name\": \"record\", \"params\": [{\"name\": \"label\", \"schema\": {\"type\": \"integer\"}}]},"
    "{\"name\": \"sleep\", \"params\": [{\"name\": \"ms\", \"schema\": {\"type\": \"integer\"}}]},"
    "{\"name\": \"counter\", \"params\": []}]}\00")
  ;; include lib.wat
  (func (export "fc_manifest") (result i64) (call $packz (i32.const 1024)))
  (func (export "fc_invoke") (param $ptr i32) (param $len i32) (result i64) (i64.const 0))
)
