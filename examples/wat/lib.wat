  ;; lib.wat: memory and JSON helpers shared by the WAT examples. The text format has no
  ;; include, so the build pastes this file into each module at its ";; include lib.wat"
  ;; line (see build.mk); on its own it is not a module.
  ;;
  ;; Memory layout: page 0 (64 KiB) holds the static data of the module; everything from
  ;; $heap on is one bump arena. fc_alloc resets it, so what a call builds (log lines,
  ;; requests, its error message) lives until the host's next call's fc_alloc.

  (global $heap i32 (i32.const 65536))
  (global $top (mut i32) (i32.const 65536))

  ;; $alloc returns n fresh bytes at the top of the arena, growing memory when needed, or
  ;; 0 when memory cannot grow. Consecutive allocations are contiguous.
  (func $alloc (param $n i32) (result i32)
    (local $ptr i32) (local $end i32) (local $have i32)
    (local.set $ptr (global.get $top))
    (local.set $end (i32.add (local.get $ptr) (local.get $n)))
    (if (i32.lt_u (local.get $end) (local.get $ptr)) ;; wrapped past 4 GiB
      (then (return (i32.const 0))))
    (local.set $have (i32.mul (memory.size) (i32.const 65536)))
    (if (i32.gt_u (local.get $end) (local.get $have))
      (then
        (if (i32.eq (i32.const -1)
              (memory.grow (i32.div_u (i32.add (i32.sub (local.get $end) (local.get $have))
                                               (i32.const 65535))
                                      (i32.const 65536))))
          (then (return (i32.const 0))))))
    (global.set $top (local.get $end))
    (local.get $ptr))

  ;; $put appends n bytes from src to the arena. To build a string, remember $top, put
  ;; its pieces, and take the length as the new $top minus the remembered one.
  (func $put (param $src i32) (param $n i32)
    (local $dst i32)
    (local.set $dst (call $alloc (local.get $n)))
    (if (i32.eqz (local.get $dst))
      (then unreachable)) ;; out of memory: trapping fails the call
    (block $done
      (loop $copy
        (br_if $done (i32.eqz (local.get $n)))
        (i32.store8 (local.get $dst) (i32.load8_u (local.get $src)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 1)))
        (local.set $src (i32.add (local.get $src) (i32.const 1)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $copy))))

  ;; $strlen is the length of the NUL-terminated static string at z.
  (func $strlen (param $z i32) (result i32)
    (local $p i32)
    (local.set $p (local.get $z))
    (block $done
      (loop $next
        (br_if $done (i32.eqz (i32.load8_u (local.get $p))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $next)))
    (i32.sub (local.get $p) (local.get $z)))

  ;; $put_z appends the NUL-terminated static string z.
  (func $put_z (param $z i32)
    (call $put (local.get $z) (call $strlen (local.get $z))))

  ;; $is tells whether the n bytes at p are the NUL-terminated static string z.
  (func $is (param $p i32) (param $n i32) (param $z i32) (result i32)
    (if (i32.ne (local.get $n) (call $strlen (local.get $z)))
      (then (return (i32.const 0))))
    (block $differ
      (loop $next
        (if (i32.eqz (local.get $n))
          (then (return (i32.const 1))))
        (br_if $differ (i32.ne (i32.load8_u (local.get $p)) (i32.load8_u (local.get $z))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (local.set $z (i32.add (local.get $z) (i32.const 1)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $next)))
    (i32.const 0))

  ;; $pack makes the i64 that fc_manifest and fc_invoke return: (ptr << 32) | len.
  (func $pack (param $ptr i32) (param $len i32) (result i64)
    (i64.or (i64.shl (i64.extend_i32_u (local.get $ptr)) (i64.const 32))
            (i64.extend_i32_u (local.get $len))))

  ;; The JSON scanner. It never decodes or copies: a JSON value is the position of its
  ;; first byte, and its text can be pasted as is into JSON the plugin writes. It trusts
  ;; that the host sends well-formed JSON (it does), and stops at `end` whatever it meets.

  ;; $peek is the byte at p, or 0 at or past end.
  (func $peek (param $p i32) (param $end i32) (result i32)
    (if (result i32) (i32.lt_u (local.get $p) (local.get $end))
      (then (i32.load8_u (local.get $p)))
      (else (i32.const 0))))

  (func $skip_ws (param $p i32) (param $end i32) (result i32)
    (local $c i32)
    (block $done
      (loop $next
        (local.set $c (call $peek (local.get $p) (local.get $end)))
        (br_if $done (i32.eqz (i32.or (i32.or (i32.eq (local.get $c) (i32.const 0x20))    ;; ' '
                                              (i32.eq (local.get $c) (i32.const 0x09)))   ;; \t
                                      (i32.or (i32.eq (local.get $c) (i32.const 0x0a))    ;; \n
                                              (i32.eq (local.get $c) (i32.const 0x0d))))));; \r
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $next)))
    (local.get $p))

  ;; $skip_string skips the string that starts at the quote at p, escapes included.
  (func $skip_string (param $p i32) (param $end i32) (result i32)
    (local $c i32)
    (local.set $p (i32.add (local.get $p) (i32.const 1)))
    (loop $next
      (if (i32.ge_u (local.get $p) (local.get $end))
        (then (return (local.get $end))))
      (local.set $c (i32.load8_u (local.get $p)))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (if (i32.eq (local.get $c) (i32.const 0x5c)) ;; a backslash escapes the next byte
        (then (local.set $p (i32.add (local.get $p) (i32.const 1)))))
      (br_if $next (i32.ne (local.get $c) (i32.const 0x22)))) ;; until the closing quote
    (local.get $p))

  ;; $skip_value skips the value that starts at p: a string, an object or array (by
  ;; counting brackets outside strings), or a number, true, false or null.
  (func $skip_value (param $p i32) (param $end i32) (result i32)
    (local $c i32) (local $depth i32)
    (local.set $c (call $peek (local.get $p) (local.get $end)))
    (if (i32.eq (local.get $c) (i32.const 0x22)) ;; "
      (then (return (call $skip_string (local.get $p) (local.get $end)))))
    (if (i32.or (i32.eq (local.get $c) (i32.const 0x7b)) (i32.eq (local.get $c) (i32.const 0x5b))) ;; { [
      (then
        (loop $next
          (if (i32.ge_u (local.get $p) (local.get $end))
            (then (return (local.get $end))))
          (local.set $c (i32.load8_u (local.get $p)))
          (if (i32.eq (local.get $c) (i32.const 0x22))
            (then
              (local.set $p (call $skip_string (local.get $p) (local.get $end)))
              (br $next)))
          (if (i32.or (i32.eq (local.get $c) (i32.const 0x7b)) (i32.eq (local.get $c) (i32.const 0x5b)))
            (then (local.set $depth (i32.add (local.get $depth) (i32.const 1)))))
          (if (i32.or (i32.eq (local.get $c) (i32.const 0x7d)) (i32.eq (local.get $c) (i32.const 0x5d))) ;; } ]
            (then (local.set $depth (i32.sub (local.get $depth) (i32.const 1)))))
          (local.set $p (i32.add (local.get $p) (i32.const 1)))
          (br_if $next (local.get $depth)))
        (return (local.get $p))))
    (block $done ;; a scalar ends at a comma, a closing bracket, white space or the end
      (loop $next
        (local.set $c (call $peek (local.get $p) (local.get $end)))
        (br_if $done (i32.le_u (local.get $c) (i32.const 0x20)))
        (br_if $done (i32.eq (local.get $c) (i32.const 0x2c)))
        (br_if $done (i32.eq (local.get $c) (i32.const 0x7d)))
        (br_if $done (i32.eq (local.get $c) (i32.const 0x5d)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $next)))
    (local.get $p))

  ;; $find returns where the value of member z (a NUL-terminated static string) of the
  ;; object at obj starts, or 0 when obj is not an object or has no such member. Member
  ;; names are compared byte for byte, so a name written with escapes does not match.
  (func $find (param $obj i32) (param $end i32) (param $z i32) (result i32)
    (local $p i32) (local $name i32) (local $match i32)
    (if (i32.ne (call $peek (local.get $obj) (local.get $end)) (i32.const 0x7b))
      (then (return (i32.const 0))))
    (local.set $p (call $skip_ws (i32.add (local.get $obj) (i32.const 1)) (local.get $end)))
    (loop $member
      (if (i32.ne (call $peek (local.get $p) (local.get $end)) (i32.const 0x22))
        (then (return (i32.const 0)))) ;; "}" or malformed: not found
      (local.set $name (i32.add (local.get $p) (i32.const 1)))
      (local.set $p (call $skip_string (local.get $p) (local.get $end)))
      (local.set $match (call $is (local.get $name)
                                  (i32.sub (i32.sub (local.get $p) (i32.const 1)) (local.get $name))
                                  (local.get $z)))
      (local.set $p (call $skip_ws (local.get $p) (local.get $end)))
      (if (i32.ne (call $peek (local.get $p) (local.get $end)) (i32.const 0x3a)) ;; :
        (then (return (i32.const 0))))
      (local.set $p (call $skip_ws (i32.add (local.get $p) (i32.const 1)) (local.get $end)))
      (if (local.get $match)
        (then (return (local.get $p))))
      (local.set $p (call $skip_ws (call $skip_value (local.get $p) (local.get $end)) (local.get $end)))
      (if (i32.ne (call $peek (local.get $p) (local.get $end)) (i32.const 0x2c)) ;; ,
        (then (return (i32.const 0))))
      (local.set $p (call $skip_ws (i32.add (local.get $p) (i32.const 1)) (local.get $end)))
      (br $member))
    (unreachable))

  ;; $put_chars appends what is between the quotes of the string at v, escapes as they are
  ;; (these examples log them undecoded), or nothing when v is not a string.
  (func $put_chars (param $v i32) (param $end i32)
    (if (i32.ne (call $peek (local.get $v) (local.get $end)) (i32.const 0x22))
      (then (return)))
    (call $put (i32.add (local.get $v) (i32.const 1))
               (i32.sub (call $skip_string (local.get $v) (local.get $end))
                        (i32.add (local.get $v) (i32.const 2)))))
