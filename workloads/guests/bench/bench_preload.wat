;; `bench` for a preview1 module on the wasmtime CLI: `wasmtime run --preload
;; bench=bench_preload.wasm program.wasm`. The same protocol and the same stderr line
;; as bench_adapter.wat ("wasinn-bench region <token> <start ns> <end ns>\n"), over WASI
;; preview1: clock_time_get(monotonic) and fd_write(2). Its own one-page memory.
;; The token is a placeholder the harness replaces, per run, with a secret the program
;; cannot read (this module's memory is its own; hosts/programs.py refuses a program
;; that imports it): a line the program prints itself does not count.
(module
  (import "wasi_snapshot_preview1" "clock_time_get"
    (func $clock_time_get (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1) ;; WASI preview1 host functions need the caller's memory export
  ;; 0: clock result (8), 8: iovec (8), 16: nwritten (4), 32: the line (prefix, token)
  (data (i32.const 32) "wasinn-bench region wasinn-bench-token-placeholder!!")

  (global $t0 (mut i64) (i64.const 0))
  (global $open (mut i32) (i32.const 0))

  (func $now (result i64)
    ;; clock id 1 = monotonic, precision 1 ns
    (if (call $clock_time_get (i32.const 1) (i64.const 1) (i32.const 0)) (then unreachable))
    (i64.load (i32.const 0)))

  (func (export "start")
    (global.set $t0 (call $now))
    (global.set $open (i32.const 1)))

  (func $u64 (param $p i32) (param $v i64) (result i32)
    (local $n i32) (local $t i64) (local $end i32)
    (local.set $t (local.get $v))
    (loop $count
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (local.set $t (i64.div_u (local.get $t) (i64.const 10)))
      (br_if $count (i64.ne (local.get $t) (i64.const 0))))
    (local.set $end (i32.add (local.get $p) (local.get $n)))
    (local.set $p (local.get $end))
    (loop $digit
      (local.set $p (i32.sub (local.get $p) (i32.const 1)))
      (i32.store8 (local.get $p)
        (i32.wrap_i64 (i64.add (i64.const 48) (i64.rem_u (local.get $v) (i64.const 10)))))
      (local.set $v (i64.div_u (local.get $v) (i64.const 10)))
      (br_if $digit (i64.ne (local.get $v) (i64.const 0))))
    (local.get $end))

  (func (export "end")
    (local $t1 i64) (local $p i32)
    (local.set $t1 (call $now))
    (if (i32.eqz (global.get $open)) (then unreachable))
    (global.set $open (i32.const 0))
    (i32.store8 (i32.const 84) (i32.const 32))
    (local.set $p (call $u64 (i32.const 85) (global.get $t0)))
    (i32.store8 (local.get $p) (i32.const 32))
    (local.set $p (call $u64 (i32.add (local.get $p) (i32.const 1)) (local.get $t1)))
    (i32.store8 (local.get $p) (i32.const 10))
    (i32.store (i32.const 8) (i32.const 32))
    (i32.store (i32.const 12) (i32.sub (i32.add (local.get $p) (i32.const 1)) (i32.const 32)))
    (if (call $fd_write (i32.const 2) (i32.const 8) (i32.const 1) (i32.const 16))
      (then unreachable)))
)
