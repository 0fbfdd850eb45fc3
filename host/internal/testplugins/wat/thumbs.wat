;; thumbs: a subscriber written by hand. Its manifest subscribes makeThumbnail(imageId:
;; integer, path: string) to the topic "image.uploaded"; makeThumbnail logs its whole
;; envelope (so a test sees the typed payload and the message id) and succeeds.
(module
  (import "fc" "log" (func $log (param i32 i32 i32)))
  (memory (export "memory") 2)
  (data (i32.const 1024) "{\"abi\": 1, \"name\": \"thumbs\", \"version\": \"1\", \"calls\": [{\"name\": \"makeThumbnail\", \"params\": [{\"name\": \"imageId\", \"schema\": {\"type\": \"integer\"}}, {\"name\": \"path\", \"schema\": {\"type\": \"string\"}}]}], \"subscriptions\": [{\"topic\": \"image.uploaded\", \"call\": \"makeThumbnail\"}]}\00")
  ;; include lib.wat
  (func (export "fc_manifest") (result i64) (call $packz (i32.const 1024)))
  (func (export "fc_invoke") (param $ptr i32) (param $len i32) (result i64)
    (call $log (i32.const 1) (local.get $ptr) (local.get $len))
    (i64.const 0)))
