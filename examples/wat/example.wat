;; example_wat: Serverpod's example future calls, written by hand in the WebAssembly text
;; format. This is the guest ABI v1 (abi/README.md) at its barest: no compiler, no SDK, no
;; WASI, only the exports the host calls and the one host function it uses. Read it top to
;; bottom; the helpers it calls ($alloc, $put, $find, ...) are in lib.wat.
;;
;;   doWork()                  logs "doWork called"
;;   doOtherWork(data string)  logs "doOtherWork called with data: <data>"
;;
;; Build: `make plugins` (or see build.mk: lib.wat is pasted in, then wat2wasm).
(module
  ;; Host functions come from module "fc"; import only those you use. log(level, ptr, len)
  ;; writes memory[ptr:ptr+len] to the host's log; level 1 is info.
  (import "fc" "log" (func $log (param $level i32) (param $ptr i32) (param $len i32)))

  ;; The plugin's own linear memory, exported as "memory": every pointer crossing the
  ;; boundary indexes it. Two pages to start with, the static data and the start of the
  ;; arena (see lib.wat); $alloc grows it.
  (memory (export "memory") 2)

  ;; Static data: NUL-terminated strings in page 0, at hand-picked addresses 64 bytes
  ;; apart (the text format has no symbolic data addresses).
  (data (i32.const 0x100) "method\00")
  (data (i32.const 0x140) "args\00")
  (data (i32.const 0x180) "data\00")
  (data (i32.const 0x1c0) "doWork\00")
  (data (i32.const 0x200) "doOtherWork\00")
  (data (i32.const 0x240) "doWork called\00")
  (data (i32.const 0x280) "doOtherWork called with data: \00")
  (data (i32.const 0x2c0) "the envelope names no method\00")
  (data (i32.const 0x300) "unknown method: \00")

  ;; The manifest: who the plugin is and the calls it offers, each parameter typed by a
  ;; JSON Schema. The host reads it once, when it loads the module.
  (data (i32.const 0x400)
    "{\"abi\": 1, \"name\": \"example_wat\", \"version\": \"1.0.0\","
    " \"description\": \"Serverpod's example future calls, written by hand in WAT\","
    " \"calls\": ["
    "  {\"name\": \"doWork\", \"description\": \"Does some work.\", \"params\": []},"
    "  {\"name\": \"doOtherWork\", \"description\": \"Does other work with the given data.\","
    "   \"params\": [{\"name\": \"data\", \"schema\": {\"type\": \"string\"}}]}"
    "]}\00")

  ;; include lib.wat

  ;; fc_alloc(size) -> ptr: the host asks for a buffer, writes the call's envelope into
  ;; it, and passes it to fc_invoke right after. It is the first export of every call, so
  ;; it resets the arena: the previous call's buffers are no longer needed.
  (func (export "fc_alloc") (param $size i32) (result i32)
    (global.set $top (global.get $heap))
    (call $alloc (local.get $size)))

  ;; fc_manifest() -> (ptr << 32) | len of the manifest.
  (func (export "fc_manifest") (result i64)
    (call $pack (i32.const 0x400) (call $strlen (i32.const 0x400))))

  ;; fc_invoke(ptr, len) runs the call whose JSON envelope is memory[ptr:ptr+len]:
  ;;   {"method": "doOtherWork", "args": {"data": "1"}, "call": {"id": 4711, ...}}
  ;; It returns 0 for success, or (ptr << 32) | len of an error message. The host has
  ;; checked the arguments against the manifest, so a known method's arguments fit.
  (func (export "fc_invoke") (param $ptr i32) (param $len i32) (result i64)
    (local $end i32) (local $envelope i32) (local $method i32) (local $name i32)
    (local $n i32) (local $args i32) (local $line i32)
    (local.set $end (i32.add (local.get $ptr) (local.get $len)))
    (local.set $envelope (call $skip_ws (local.get $ptr) (local.get $end)))

    ;; The method's name: the characters between the quotes of envelope.method.
    (local.set $method (call $find (local.get $envelope) (local.get $end) (i32.const 0x100)))
    (if (i32.ne (call $peek (local.get $method) (local.get $end)) (i32.const 0x22))
      (then (return (call $pack (i32.const 0x2c0) (call $strlen (i32.const 0x2c0))))))
    (local.set $name (i32.add (local.get $method) (i32.const 1)))
    (local.set $n (i32.sub (i32.sub (call $skip_string (local.get $method) (local.get $end))
                                    (i32.const 1))
                           (local.get $name)))
    (local.set $args (call $find (local.get $envelope) (local.get $end) (i32.const 0x140)))

    ;; doWork()
    (if (call $is (local.get $name) (local.get $n) (i32.const 0x1c0))
      (then
        (call $log (i32.const 1) (i32.const 0x240) (call $strlen (i32.const 0x240)))
        (return (i64.const 0))))

    ;; doOtherWork(data string): build the log line in the arena, then log it.
    (if (call $is (local.get $name) (local.get $n) (i32.const 0x200))
      (then
        (local.set $line (global.get $top))
        (call $put_z (i32.const 0x280))
        (call $put_chars (call $find (local.get $args) (local.get $end) (i32.const 0x180))
                         (local.get $end))
        (call $log (i32.const 1) (local.get $line) (i32.sub (global.get $top) (local.get $line)))
        (return (i64.const 0))))

    ;; Anything else fails, with a message that stays valid until the next call.
    (local.set $line (global.get $top))
    (call $put_z (i32.const 0x300))
    (call $put (local.get $name) (local.get $n))
    (call $pack (local.get $line) (i32.sub (global.get $top) (local.get $line))))
)
