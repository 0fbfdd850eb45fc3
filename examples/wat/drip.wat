;; drip_wat: a drip campaign on a record parameter, written by hand in the WebAssembly
;; text format. Where example.wat shows the bare exports, this one shows the other host
;; functions: cancel, schedule and, when the host refuses a request, last_error; and the
;; capabilities an operator grants: config, state_get, state_put and http, whose
;; documents are read with result.
;;
;;   welcome(signup {userId, email, plan}, note?)
;;       logs "welcome <email> (plan <plan>)" (": <note>" when given), cancels the
;;       identifier "drip-user-<userId>", then schedules followUp(signup) on this plugin
;;       three days later under that identifier: signing up twice restarts the drip.
;;   followUp(signup)
;;       sends the follow-up e-mail, subject "tips for pro users" for plan pro and "try
;;       the pro plan" otherwise, through the mail API the operator configured:
;;         sandbox:
;;           plugins:
;;             drip_wat:
;;               http: {allow: ["https://api.mail.example"]}
;;               config:
;;                 mailUrl: https://api.mail.example/v1/send
;;                 mailToken: env:MAIL_TOKEN      # optional: Authorization: Bearer <token>
;;                 from: noreply@example.com      # the default
;;       It POSTs {"from", "to", "subject", "text"} as JSON to mailUrl; a status outside
;;       2xx fails the call ("mail API answered <status>"), and the plugin's retry policy
;;       (3 attempts, 1 s apart) tries again: the host sends the same Idempotency-Key, so
;;       the API sends the e-mail once. On success it records {"count": 1, "lastCall":
;;       <call id>} under the state key "mailed-<userId>", committed with the call's
;;       success, and a later followUp of that user finds it and skips. Without mailUrl
;;       it logs "follow-up e-mail to <email>: <subject>" instead.
;;   unsubscribe(userId)
;;       cancels "drip-user-<userId>", logs "unsubscribed user <userId>: <n> pending calls
;;       cancelled"
;;
;; The JSON it writes pastes the JSON text it received (the signup, the userId), so it
;; never decodes a value; text from the operator (the URL, the sender, the token) is
;; quoted ($put_quoted). Helpers ($alloc, $put, $find, ...) are in lib.wat.
(module
  (import "fc" "log" (func $log (param $level i32) (param $ptr i32) (param $len i32)))
  ;; schedule(ptr, len) and cancel(ptr, len) return a negative number when the host
  ;; refuses; last_error(ptr, cap) then copies the reason and returns its full length.
  (import "fc" "schedule" (func $schedule (param $ptr i32) (param $len i32) (result i64)))
  (import "fc" "cancel" (func $cancel (param $ptr i32) (param $len i32) (result i64)))
  (import "fc" "last_error" (func $last_error (param $ptr i32) (param $cap i32) (result i32)))
  ;; The capabilities. config, state_get and http return the length of the document they
  ;; produced (a value, a response), or a negative code: -4 for a key without a value,
  ;; -5 for a URL outside the operator's grant, -1 to -3 otherwise. result(ptr, cap)
  ;; copies that document to ptr ($take). state_put returns 0 or a negative code.
  (import "fc" "result" (func $result (param $ptr i32) (param $cap i32) (result i32)))
  (import "fc" "config" (func $config (param $ptr i32) (param $len i32) (result i64)))
  (import "fc" "state_get" (func $state_get (param $ptr i32) (param $len i32) (result i64)))
  (import "fc" "state_put" (func $state_put (param $kptr i32) (param $klen i32)
                                            (param $vptr i32) (param $vlen i32) (result i64)))
  (import "fc" "http" (func $http (param $ptr i32) (param $len i32) (result i64)))

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
  (data (i32.const 0x5c0) "the envelope names no method\00")
  (data (i32.const 0x600) "unknown method: \00")
  (data (i32.const 0x640) "the host refused the request\00")
  (data (i32.const 0x680) "unsubscribe\00")
  (data (i32.const 0x6c0) "unsubscribed user \00")
  (data (i32.const 0x700) " pending calls cancelled\00")
  ;; 0x740 to 0x754: scratch for the digits of a number ($put_count)

  ;; What followUp reads and writes, from 0x1000 on (the manifest is at 0x800).
  (data (i32.const 0x1000) "mailUrl\00")
  (data (i32.const 0x1040) "mailToken\00")
  (data (i32.const 0x1080) "from\00")
  (data (i32.const 0x10c0) "noreply@example.com\00")
  (data (i32.const 0x1100) "\"pro\"\00")
  (data (i32.const 0x1140) "tips for pro users\00")
  (data (i32.const 0x1180) "try the pro plan\00")
  (data (i32.const 0x11c0) "follow-up e-mail to \00")
  (data (i32.const 0x1200) " already sent by call \00")
  (data (i32.const 0x1240) ": skipped\00")
  (data (i32.const 0x1280) " sent: \00")
  (data (i32.const 0x12c0) "mailed-\00")
  (data (i32.const 0x1300) "count\00")
  (data (i32.const 0x1340) "lastCall\00")
  (data (i32.const 0x1380) "call\00")
  (data (i32.const 0x13c0) "id\00")
  (data (i32.const 0x1400) "status\00")
  (data (i32.const 0x1440) "mail API answered \00")
  ;; the e-mail: {"from": <from>, "to": <email>, "subject": "<subject>",
  ;;              "text": "Hello from the drip campaign: <subject>."}
  (data (i32.const 0x1480) "{\"from\": \00")
  (data (i32.const 0x14c0) ", \"to\": \00")
  (data (i32.const 0x1500) ", \"subject\": \"\00")
  (data (i32.const 0x1540) "\", \"text\": \"Hello from the drip campaign: \00")
  (data (i32.const 0x1580) ".\"}\00")
  ;; the request: {"method": "POST", "url": <mailUrl>, "headers": {"Content-Type":
  ;;   "application/json", "Authorization": "Bearer <mailToken>"}, "body": <the e-mail>}
  (data (i32.const 0x15c0) "{\"method\": \"POST\", \"url\": \00")
  (data (i32.const 0x1600) ", \"headers\": {\"Content-Type\": \"application/json\"\00")
  (data (i32.const 0x1640) ", \"Authorization\": \"Bearer \00")
  (data (i32.const 0x1680) "}, \"body\": \00")
  (data (i32.const 0x16c0) "}\00")
  ;; the state value: {"count": 1, "lastCall": <call id>}
  (data (i32.const 0x1700) "{\"count\": 1, \"lastCall\": \00")
  (data (i32.const 0x1740) "\"\00")
  (data (i32.const 0x1780) "0123456789abcdef")
  (data (i32.const 0x17c0) "\\u00\00")

  (data (i32.const 0x800)
    "{\"abi\": 1, \"name\": \"drip_wat\", \"version\": \"1.1.0\","
    " \"description\": \"A drip campaign: welcome a new user, follow up three days later\","
    " \"retry\": {\"maxAttempts\": 3, \"backoff\": \"1s\"},"
    " \"calls\": ["
    "  {\"name\": \"welcome\", \"description\": \"Welcomes a new user and schedules the follow-up.\","
    "   \"params\": ["
    "    {\"name\": \"signup\", \"schema\": {\"type\": \"object\","
    "     \"properties\": {\"userId\": {\"type\": \"integer\"}, \"email\": {\"type\": \"string\"},"
    "      \"plan\": {\"type\": \"string\", \"enum\": [\"free\", \"pro\"]}},"
    "     \"required\": [\"userId\", \"email\", \"plan\"], \"additionalProperties\": false}},"
    "    {\"name\": \"note\", \"schema\": {\"type\": \"string\"}, \"optional\": true}]},"
    "  {\"name\": \"followUp\", \"description\": \"Sends the follow-up e-mail, once per user.\","
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

    ;; followUp(signup)
    (if (call $is (local.get $name) (local.get $n) (i32.const 0x300))
      (then (return (call $follow_up (local.get $envelope) (local.get $signup) (local.get $end)))))

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

  ;; $follow_up sends the follow-up e-mail of the signup at $signup, once per user, through
  ;; the operator's mail API; or logs it when the operator configured none.
  (func $follow_up (param $envelope i32) (param $signup i32) (param $end i32) (result i64)
    (local $n i64) (local $email i32) (local $subject i32) (local $url i32) (local $url_len i32)
    (local $key i32) (local $key_len i32) (local $doc_end i32) (local $count i32) (local $line i32)
    (local $value i32) (local $failure i64)
    (local.set $email (call $find (local.get $signup) (local.get $end) (i32.const 0x240)))
    ;; The subject: compare the plan's JSON text, quotes included, with "pro".
    (local.set $subject (i32.const 0x1180))
    (if (call $is_value (call $find (local.get $signup) (local.get $end) (i32.const 0x280))
                        (local.get $end) (i32.const 0x1100))
      (then (local.set $subject (i32.const 0x1140))))

    ;; mailUrl: without it, log the e-mail instead ("follow-up e-mail to <email>: <subject>").
    (local.set $n (call $take (call $config (i32.const 0x1000) (call $strlen (i32.const 0x1000)))))
    (if (i64.eq (local.get $n) (i64.const -4))
      (then
        (local.set $line (global.get $top))
        (call $put_z (i32.const 0x11c0))
        (call $put_chars (local.get $email) (local.get $end))
        (call $put_z (i32.const 0x400))
        (call $put_z (local.get $subject))
        (call $log (i32.const 1) (local.get $line) (i32.sub (global.get $top) (local.get $line)))
        (return (i64.const 0))))
    (if (i64.lt_s (local.get $n) (i64.const 0))
      (then (return (call $refused))))
    (local.set $url (global.get $doc))
    (local.set $url_len (i32.wrap_i64 (local.get $n)))

    ;; The state key "mailed-<userId>". A value with a count of 1 or more (its first digit
    ;; is not 0) means an earlier call sent the e-mail.
    (local.set $key (global.get $top))
    (call $put_z (i32.const 0x12c0))
    (call $put_raw (call $find (local.get $signup) (local.get $end) (i32.const 0x200)) (local.get $end))
    (local.set $key_len (i32.sub (global.get $top) (local.get $key)))
    (local.set $n (call $take (call $state_get (local.get $key) (local.get $key_len))))
    (if (i64.ge_s (local.get $n) (i64.const 0))
      (then
        (local.set $doc_end (i32.add (global.get $doc) (i32.wrap_i64 (local.get $n))))
        (local.set $count (call $peek (call $find (global.get $doc) (local.get $doc_end) (i32.const 0x1300))
                                      (local.get $doc_end)))
        (if (i32.and (i32.ge_u (local.get $count) (i32.const 0x31)) (i32.le_u (local.get $count) (i32.const 0x39)))
          (then
            ;; "follow-up e-mail to <email> already sent by call <lastCall>: skipped"
            (local.set $line (global.get $top))
            (call $put_z (i32.const 0x11c0))
            (call $put_chars (local.get $email) (local.get $end))
            (call $put_z (i32.const 0x1200))
            (call $put_raw (call $find (global.get $doc) (local.get $doc_end) (i32.const 0x1340)) (local.get $doc_end))
            (call $put_z (i32.const 0x1240))
            (call $log (i32.const 1) (local.get $line) (i32.sub (global.get $top) (local.get $line)))
            (return (i64.const 0))))))
    (if (i64.ne (local.get $n) (i64.const -4))
      (then (if (i64.lt_s (local.get $n) (i64.const 0))
        (then (return (call $refused))))))

    (local.set $failure (call $send_mail (local.get $url) (local.get $url_len) (local.get $email)
                                         (local.get $subject) (local.get $end)))
    (if (i64.ne (local.get $failure) (i64.const 0))
      (then (return (local.get $failure))))

    ;; {"count": 1, "lastCall": <call id>}, committed only if this call succeeds.
    (local.set $value (global.get $top))
    (call $put_z (i32.const 0x1700))
    (call $put_raw (call $find (call $find (local.get $envelope) (local.get $end) (i32.const 0x1380))
                               (local.get $end) (i32.const 0x13c0))
                   (local.get $end))
    (call $put_z (i32.const 0x16c0))
    (if (i64.lt_s (call $state_put (local.get $key) (local.get $key_len)
                                   (local.get $value) (i32.sub (global.get $top) (local.get $value)))
                  (i64.const 0))
      (then (return (call $refused))))
    (i64.const 0))

  ;; $send_mail posts the e-mail to <email> (the JSON string at $email) with $subject (a
  ;; static string) to the mail API at url, as the sender the operator configured (or
  ;; noreply@example.com), with the operator's token when there is one. It returns 0
  ;; when the API accepted it (a 2xx status), or the packed error message.
  (func $send_mail (param $url i32) (param $url_len i32) (param $email i32) (param $subject i32)
                   (param $end i32) (result i64)
    (local $n i64) (local $from i32) (local $from_len i32) (local $token i32) (local $token_len i32)
    (local $body i32) (local $body_len i32) (local $req i32) (local $doc_end i32) (local $status i32)
    (local $line i32)
    ;; Read both settings before building the e-mail: $take allocates, and the e-mail and
    ;; the request are each built in one piece at the top of the arena.
    (local.set $n (call $take (call $config (i32.const 0x1080) (call $strlen (i32.const 0x1080)))))
    (local.set $from (global.get $doc))
    (local.set $from_len (i32.wrap_i64 (local.get $n)))
    (if (i64.eq (local.get $n) (i64.const -4))
      (then
        (local.set $from (i32.const 0x10c0))
        (local.set $from_len (call $strlen (i32.const 0x10c0))))
      (else (if (i64.lt_s (local.get $n) (i64.const 0))
        (then (return (call $refused))))))
    (local.set $n (call $take (call $config (i32.const 0x1040) (call $strlen (i32.const 0x1040)))))
    (local.set $token (global.get $doc))
    (local.set $token_len (i32.wrap_i64 (local.get $n)))
    (if (i64.eq (local.get $n) (i64.const -4))
      (then (local.set $token (i32.const 0)))
      (else (if (i64.lt_s (local.get $n) (i64.const 0))
        (then (return (call $refused))))))

    (local.set $body (global.get $top))
    (call $put_z (i32.const 0x1480))
    (call $put_quoted (local.get $from) (local.get $from_len))
    (call $put_z (i32.const 0x14c0))
    (call $put_raw (local.get $email) (local.get $end))
    (call $put_z (i32.const 0x1500))
    (call $put_z (local.get $subject))
    (call $put_z (i32.const 0x1540))
    (call $put_z (local.get $subject))
    (call $put_z (i32.const 0x1580))
    (local.set $body_len (i32.sub (global.get $top) (local.get $body)))

    (local.set $req (global.get $top))
    (call $put_z (i32.const 0x15c0))
    (call $put_quoted (local.get $url) (local.get $url_len))
    (call $put_z (i32.const 0x1600))
    (if (local.get $token)
      (then
        (call $put_z (i32.const 0x1640))
        (call $put_escaped (local.get $token) (local.get $token_len))
        (call $put_z (i32.const 0x1740))))
    (call $put_z (i32.const 0x1680))
    (call $put_quoted (local.get $body) (local.get $body_len))
    (call $put_z (i32.const 0x16c0))

    ;; The response: {"status": 503, "headers": {...}, "body": "..."}.
    (local.set $n (call $take (call $http (local.get $req) (i32.sub (global.get $top) (local.get $req)))))
    (if (i64.lt_s (local.get $n) (i64.const 0))
      (then (return (call $refused))))
    (local.set $doc_end (i32.add (global.get $doc) (i32.wrap_i64 (local.get $n))))
    (local.set $status (call $find (global.get $doc) (local.get $doc_end) (i32.const 0x1400)))
    (if (i32.ne (i32.div_u (call $atoi (local.get $status) (local.get $doc_end)) (i32.const 100)) (i32.const 2))
      (then
        ;; "mail API answered <status>" fails the call; its policy tries again.
        (local.set $line (global.get $top))
        (call $put_z (i32.const 0x1440))
        (call $put_raw (local.get $status) (local.get $doc_end))
        (return (call $pack (local.get $line) (i32.sub (global.get $top) (local.get $line))))))

    ;; "follow-up e-mail to <email> sent: <subject>"
    (local.set $line (global.get $top))
    (call $put_z (i32.const 0x11c0))
    (call $put_chars (local.get $email) (local.get $end))
    (call $put_z (i32.const 0x1280))
    (call $put_z (local.get $subject))
    (call $log (i32.const 1) (local.get $line) (i32.sub (global.get $top) (local.get $line)))
    (i64.const 0))

  ;; The document config, state_get or http produced last, copied by $take.
  (global $doc (mut i32) (i32.const 0))

  ;; $take passes n, what config, state_get or http returned, through; when it is a
  ;; length, it first copies the document into n fresh bytes of the arena, at $doc.
  (func $take (param $n i64) (result i64)
    (if (i64.ge_s (local.get $n) (i64.const 0))
      (then
        (global.set $doc (call $alloc (i32.wrap_i64 (local.get $n))))
        (if (i32.eqz (global.get $doc))
          (then unreachable)) ;; out of memory: trapping fails the call
        (drop (call $result (global.get $doc) (i32.wrap_i64 (local.get $n))))))
    (local.get $n))

  ;; $is_value tells whether the JSON text of the value at v is the static string z.
  (func $is_value (param $v i32) (param $end i32) (param $z i32) (result i32)
    (if (i32.eqz (local.get $v))
      (then (return (i32.const 0))))
    (call $is (local.get $v) (i32.sub (call $skip_value (local.get $v) (local.get $end)) (local.get $v))
              (local.get $z)))

  ;; $atoi reads the decimal digits at p (a status such as 503), 0 when there are none.
  (func $atoi (param $p i32) (param $end i32) (result i32)
    (local $v i32) (local $c i32)
    (if (i32.eqz (local.get $p))
      (then (return (i32.const 0))))
    (block $done
      (loop $digit
        (local.set $c (i32.sub (call $peek (local.get $p) (local.get $end)) (i32.const 0x30)))
        (br_if $done (i32.gt_u (local.get $c) (i32.const 9))) ;; unsigned: below '0' wraps
        (local.set $v (i32.add (i32.mul (local.get $v) (i32.const 10)) (local.get $c)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $digit)))
    (local.get $v))

  ;; $put_quoted appends the n bytes at p as a JSON string, quotes included.
  (func $put_quoted (param $p i32) (param $n i32)
    (call $put_z (i32.const 0x1740))
    (call $put_escaped (local.get $p) (local.get $n))
    (call $put_z (i32.const 0x1740)))

  ;; $put_escaped appends the n bytes at p escaped for a JSON string: \" and \\, and
  ;; \u00XX for the control characters; other bytes (UTF-8 included) as they are.
  (func $put_escaped (param $p i32) (param $n i32)
    (local $c i32)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $c (i32.load8_u (local.get $p)))
        (if (i32.lt_u (local.get $c) (i32.const 0x20))
          (then
            (call $put_z (i32.const 0x17c0))
            (call $put (i32.add (i32.const 0x1780) (i32.shr_u (local.get $c) (i32.const 4))) (i32.const 1))
            (call $put (i32.add (i32.const 0x1780) (i32.and (local.get $c) (i32.const 15))) (i32.const 1)))
          (else
            (if (i32.or (i32.eq (local.get $c) (i32.const 0x22)) (i32.eq (local.get $c) (i32.const 0x5c)))
              (then (call $put (i32.const 0x17c0) (i32.const 1)))) ;; the backslash of "\u00"
            (call $put (local.get $p) (i32.const 1))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $next))))

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

  ;; $refused returns the reason the host gave for refusing the last request (schedule,
  ;; cancel, config, state_get, state_put, http) as the call's error message: failing the
  ;; call drops what it had already scheduled and written to the state.
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
