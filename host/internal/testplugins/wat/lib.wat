  ;; lib.wat: helpers shared by the test plugins, pasted into a module at its
  ;; ";; include lib.wat" line by build.mk (the text format has no include).
  ;;
  ;; Memory: page 0 holds static, NUL-terminated strings; fc_alloc hands out the memory
  ;; from 64 KiB on, growing it as needed. The module must declare at least 2 pages.

  (func (export "fc_alloc") (param $size i32) (result i32)
    (local $pages i32)
    (local.set $pages (i32.add (i32.const 2) (i32.shr_u (local.get $size) (i32.const 16))))
    (if (i32.gt_u (local.get $pages) (memory.size))
      (then
        (if (i32.eq (memory.grow (i32.sub (local.get $pages) (memory.size))) (i32.const -1))
          (then (return (i32.const 0))))))
    (i32.const 65536))

  ;; $strlen is the length of the NUL-terminated string at z.
  (func $strlen (param $z i32) (result i32)
    (local $p i32)
    (local.set $p (local.get $z))
    (block $done
      (loop $next
        (br_if $done (i32.eqz (i32.load8_u (local.get $p))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $next)))
    (i32.sub (local.get $p) (local.get $z)))

  ;; $pack makes the i64 that fc_manifest and fc_invoke return: (ptr << 32) | len.
  (func $pack (param $ptr i32) (param $len i32) (result i64)
    (i64.or (i64.shl (i64.extend_i32_u (local.get $ptr)) (i64.const 32))
            (i64.extend_i32_u (local.get $len))))

  ;; $packz packs the NUL-terminated string at z.
  (func $packz (param $z i32) (result i64)
    (call $pack (local.get $z) (call $strlen (local.get $z))))
