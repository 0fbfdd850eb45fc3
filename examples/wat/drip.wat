;; drip_wat: a drip campaign on a record parameter, written by hand in the WebAssembly
;; text format. Where example.wat shows the bare exports, this one shows the other host
;; functions: cancel, schedule and, when the host refuses a request, last_error.
;;
;;   welcome(signup {userId, email, plan}, note?)
;;       logs "welcome <email> (plan <plan>)" (": <note>" when given), cancels the
;;       identifier "drip-user-<userId>", then schedules followUp(signup) on this plugin
;;       three days later under that identifier: signing up twice restarts the drip.
;;   followUp(signup)
;;       logs "followUp <email> (user <userId>)"
;;   unsubscribe(userId)
;;       cancels "drip-user-<userId>", logs "unsubscribed user <userId>: <n> pending calls
;;       cancelled"
;;
;; The JSON it writes pastes the JSON text it received (the signup, the userId), so it
;; never decodes a value. Helpers ($alloc, $put, $find, ...) are in lib.wat.
(module
  (import "fc" "log" (func $log (param $level i32) (param $ptr i32) (param $len i32)))
  ;; schedule(ptr, len) and cancel(ptr, len) return a negative number when the host
  ;; refuses; last_error(ptr, cap) then copies the reason and returns its full length.
  (import "fc" "schedule" (func $schedule (param $ptr i32) (param $len i32) (result i64)))
  (import "fc" "cancel" (func $cancel (param $ptr i32) (param $len i32) (result i64)))
  (import "fc" "last_error" (func $last_error (param $ptr i32) (param $cap i32) (result i32)))

  (memory (export "memory") 2)

  ;; Static data, NUL-terminated, 64 bytes apart.
  (data (i32.const 0x100) "method\00")
  (data (i32.const 0x140) "args\00")
  (data (i32.const 0x180) "signup\00")
  (data (i32.const 0x1c0) "note\00")
  (data (i32.const 0x200) "userId\00")
  (data (i32.const 0x240) "email\00")
  (data (i32.const 0x280) "plan\00")
  (data (i32.const 0x2c0) "welcome\00")
  (data (i32.const 0x300) "followUp\00")
  (data (i32.const 0x340) "welcome \00")
  (data (i32.const 0x380) " (plan \00")
  (data (i32.const 0x3c0) ")\00")
  (data (i32.const 0x400) ": \00")
  (data (i32.const 0x440) "drip-user-\00")
  (data (i32.const 0x480) "{\"method\": \"followUp\", \"args\": {\"signup\": \00")
  (data (i32.const 0x4c0) "}, \"delay\": \"3d\", \"identifier\": \"\00")
  (data (i32.const 0x500) "\"}\00")
  (data (i32.const 0x540) "followUp \00")
  (data (i32.const 0x580) " (user \00")
  (data (i32.const 0x5c0) "the envelope names no method\00")
  (data (i32.const 0x600) "unknown method: \00")
  (data (i32.const 0x640) "the host refused the request\00")
  (data (i32.const 0x680) "unsubscribe\00")
  (data (i32.const 0x6c0) "unsubscribed user \00")
  (data (i32.const 0x700) " pending calls cancelled\00")
  ;; 0x740 to 0x754: scratch for the digits of a number ($put_count)

  (data (i32.const 0x800)
    "{\"abi\": 1, \"name\": \"drip_wat\", \"version\": \"1.0.0\","
    " \"description\": \"A drip campaign: welcome a new user, follow up three days later\","
    " \"calls\": ["
    "  {\"name\": \"welcome\", \"description\": \"Welcomes a new user and schedules the follow-up.\","
    "   \"params\": ["
    "    {\"name\": \"signup\", \"schema\": {\"type\": \"object\","
    "     \"properties\": {\"userId\": {\"type\": \"integer\"}, \"email\": {\"type\": \"string\"},"
    "      \"plan\": {\"type\": \"string\", \"enum\": [\"free\", \"pro\"]}},"
    "     \"required\": [\"userId\", \"email\", \"plan\"], \"additionalProperties\": false}},"
    "    {\"name\": \"note\", \"schema\": {\"type\": \"string\"}, \"optional\": true}]},"
    "  {\"name\": \"followUp\", \"description\": \"Follows up with a user three days after the welcome.\","
    "   \"params\": ["
    "    {\"name\": \"signup\", \"schema\": {\"type\": \"object\","
    "     \"properties\": {\"userId\": {\"type\": \"integer\"}, \"email\": {\"type\": \"string\"},"
    "      \"plan\": {\"type\": \"string\", \"enum\": [\"free\", \"pro\"]}},"
    "     \"required\": [\"userId\", \"email\", \"plan\"], \"additionalProperties\": false}}]},"
    "  {\"name\": \"unsubscribe\", \"description\": \"Stops the drip of a user.\","
    "   \"params\": [{\"name\": \"userId\", \"schema\": {\"type\": \"integer\"}}]}"
    "]}\00")

  ;; include lib.wat

  (func (export "fc_alloc") (param $size i32) (result i32)
    (global.set $top (global.get $heap))
    (call $alloc (local.get $size)))

  (func (export "fc_manifest") (result i64)
    (call $pack (i32.const 0x800) (call $strlen (i32.const 0x800))))

  (func (export "fc_invoke") (param $ptr i32) (param $len i32) (result i64)
    (local $end i32) (local $envelope i32) (local $method i32) (local $name i32) (local $n i32)
    (local $args i32) (local $signup i32) (local $note i32) (local $line i32) (local $id i32)
    (local $id_len i32) (local $req i32) (local $count i64)
    (local.set $end (i32.add (local.get $ptr) (local.get $len)))
    (local.set $envelope (call $skip_ws (local.get $ptr) (local.get $end)))
    (local.set $method (call $find (local.get $envelope) (local.get $end) (i32.const 0x100)))
    (if (i32.ne (call $peek (local.get $method) (local.get $end)) (i32.const 0x22))
      (then (return (call $pack (i32.const 0x5c0) (call $strlen (i32.const 0x5c0))))))
    (local.set $name (i32.add (local.get $method) (i32.const 1)))
    (local.set $n (i32.sub (i32.sub (call $skip_string (local.get $method) (local.get $end))
                                    (i32.const 1))
                           (local.get $name)))
    (local.set $args (call $find (local.get $envelope) (local.get $end) (i32.const 0x140)))
    (local.set $signup (call $find (local.get $args) (local.get $end) (i32.const 0x180)))

    ;; welcome(signup, note?)
    (if (call $is (local.get $name) (local.get $n) (i32.const 0x2c0))
      (then
        ;; "welcome <email> (plan <plan>)" and ": <note>" when the optional note is there.
        (local.set $line (global.get $top))
        (call $put_z (i32.const 0x340))
        (call $put_chars (call $find (local.get $signup) (local.get $end) (i32.const 0x240)) (local.get $end))
        (call $put_z (i32.const 0x380))
        (call $put_chars (call $find (local.get $signup) (local.get $end) (i32.const 0x280)) (local.get $end))
        (call $put_z (i32.const 0x3c0))
        (local.set $note (call $find (local.get $args) (local.get $end) (i32.const 0x1c0)))
        (if (local.get $note)
          (then
            (call $put_z (i32.const 0x400))
            (call $put_chars (local.get $note) (local.get $end))))
        (call $log (i32.const 1) (local.get $line) (i32.sub (global.get $top) (local.get $line)))

        ;; The identifier "drip-user-<userId>", cancelled first: a second welcome for the
        ;; same user replaces the pending follow-up instead of adding one.
        (local.set $id (global.get $top))
        (call $put_z (i32.const 0x440))
        (call $put_raw (call $find (local.get $signup) (local.get $end) (i32.const 0x200)) (local.get $end))
        (local.set $id_len (i32.sub (global.get $top) (local.get $id)))
        (if (i64.lt_s (call $cancel (local.get $id) (local.get $id_len)) (i64.const 0))
          (then (return (call $refused))))

        ;; {"method": "followUp", "args": {"signup": <signup>}, "delay": "3d",
        ;;  "identifier": "<id>"}; the plugin defaults to this one.
        (local.set $req (global.get $top))
        (call $put_z (i32.const 0x480))
        (call $put_raw (local.get $signup) (local.get $end))
        (call $put_z (i32.const 0x4c0))
        (call $put (local.get $id) (local.get $id_len))
        (call $put_z (i32.const 0x500))
        (if (i64.lt_s (call $schedule (local.get $req) (i32.sub (global.get $top) (local.get $req)))
                      (i64.const 0))
          (then (return (call $refused))))
        (return (i64.const 0))))

    ;; followUp(signup): "followUp <email> (user <userId>)"
    (if (call $is (local.get $name) (local.get $n) (i32.const 0x300))
      (then
        (local.set $line (global.get $top))
        (call $put_z (i32.const 0x540))
        (call $put_chars (call $find (local.get $signup) (local.get $end) (i32.const 0x240)) (local.get $end))
        (call $put_z (i32.const 0x580))
        (call $put_raw (call $find (local.get $signup) (local.get $end) (i32.const 0x200)) (local.get $end))
        (call $put_z (i32.const 0x3c0))
        (call $log (i32.const 1) (local.get $line) (i32.sub (global.get $top) (local.get $line)))
        (return (i64.const 0))))

    ;; unsubscribe(userId): cancel returns how many calls carry the identifier.
    (if (call $is (local.get $name) (local.get $n) (i32.const 0x680))
      (then
        (local.set $id (global.get $top))
        (call $put_z (i32.const 0x440))
        (call $put_raw (call $find (local.get $args) (local.get $end) (i32.const 0x200)) (local.get $end))
        (local.set $count (call $cancel (local.get $id) (i32.sub (global.get $top) (local.get $id))))
        (if (i64.lt_s (local.get $count) (i64.const 0))
          (then (return (call $refused))))
        (local.set $line (global.get $top))
        (call $put_z (i32.const 0x6c0))
        (call $put_raw (call $find (local.get $args) (local.get $end) (i32.const 0x200)) (local.get $end))
        (call $put_z (i32.const 0x400))
        (call $put_count (local.get $count))
        (call $put_z (i32.const 0x700))
        (call $log (i32.const 1) (local.get $line) (i32.sub (global.get $top) (local.get $line)))
        (return (i64.const 0))))

    (local.set $line (global.get $top))
    (call $put_z (i32.const 0x600))
    (call $put (local.get $name) (local.get $n))
    (call $pack (local.get $line) (i32.sub (global.get $top) (local.get $line))))

  ;; $put_raw appends the JSON text of the value at v.
  (func $put_raw (param $v i32) (param $end i32)
    (call $put (local.get $v) (i32.sub (call $skip_value (local.get $v) (local.get $end)) (local.get $v))))

  ;; $put_count appends n in decimal. The digits come least significant first, so they
  ;; are written backwards into the scratch area that ends at 0x754, then put.
  (func $put_count (param $n i64)
    (local $p i32)
    (local.set $p (i32.const 0x754))
    (loop $digit
      (local.set $p (i32.sub (local.get $p) (i32.const 1)))
      (i32.store8 (local.get $p) (i32.add (i32.const 0x30) (i32.wrap_i64 (i64.rem_u (local.get $n) (i64.const 10)))))
      (local.set $n (i64.div_u (local.get $n) (i64.const 10)))
      (br_if $digit (i64.ne (local.get $n) (i64.const 0))))
    (call $put (local.get $p) (i32.sub (i32.const 0x754) (local.get $p))))

  ;; $refused returns the reason the host gave for refusing the last schedule or cancel,
  ;; as the call's error message: failing the call drops what it had already scheduled.
  (func $refused (result i64)
    (local $n i32) (local $msg i32)
    (local.set $n (call $last_error (i32.const 0) (i32.const 0))) ;; its length only
    (if (i32.eqz (local.get $n))
      (then (return (call $pack (i32.const 0x640) (call $strlen (i32.const 0x640))))))
    (local.set $msg (call $alloc (local.get $n)))
    (if (i32.eqz (local.get $msg))
      (then unreachable))
    (drop (call $last_error (local.get $msg) (local.get $n)))
    (call $pack (local.get $msg) (local.get $n)))
)
