;; The `bench` adapter: the sightglass protocol (bench.start / bench.end, no params,
;; no results) for a program wrapped into a component by `wasinn-bench adapt`.
;;
;; start: reads wasi:clocks/monotonic-clock.now into a global (nothing else, so the
;;        region begins right after it).
;; end:   reads the clock, then writes one line to stderr (wasi:cli/stderr):
;;            "wasinn-bench region <token> <start ns> <end ns>\n"
;;        <token>: 32 characters written by stores whose constants build_bench.py sets
;;        per adapted program (a secret of the harness); the line is zeroed after the
;;        write, so the program, whose memory this is, cannot read the token back.
;;        the harness parses and removes these lines (hosts/programs.py). The write
;;        happens after the second clock read, so it is outside the region.
;;        end without a start traps (a broken protocol is a failure, not a sample).
;;
;; Rules of a wit-component adapter (docs/adapter.md, "Why WAT"): no data, element or
;; start section; the main module's memory imported as env.memory; only WIT imports.
;; State: two globals and one page taken with memory.grow on the first end.
(module
  (import "env" "memory" (memory 0))
  (import "wasi:clocks/monotonic-clock@0.2.12" "now" (func $now (result i64)))
  (import "wasi:cli/stderr@0.2.12" "get-stderr" (func $get_stderr (result i32)))
  (import "wasi:io/streams@0.2.12" "[method]output-stream.blocking-write-and-flush"
    (func $write_flush (param i32 i32 i32 i32)))
  (import "wasi:io/streams@0.2.12" "[resource-drop]output-stream"
    (func $drop_stream (param i32)))

  (global $t0 (mut i64) (i64.const 0))
  (global $open (mut i32) (i32.const 0))  ;; 1 between a start and its end
  (global $base (mut i32) (i32.const -1)) ;; our page: return area at +0, line at +16

  (func (export "start")
    (global.set $t0 (call $now))
    (global.set $open (i32.const 1)))

  ;; decimal digits of the unsigned v at p; returns the position after the last digit
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
    (local $t1 i64) (local $line i32) (local $p i32) (local $stream i32) (local $pages i32)
    (local.set $t1 (call $now))
    (if (i32.eqz (global.get $open)) (then unreachable))
    (global.set $open (i32.const 0))
    (if (i32.eq (global.get $base) (i32.const -1))
      (then
        (local.set $pages (memory.grow (i32.const 1)))
        (if (i32.eq (local.get $pages) (i32.const -1)) (then unreachable))
        (global.set $base (i32.shl (local.get $pages) (i32.const 16)))))
    (local.set $line (i32.add (global.get $base) (i32.const 16)))
    ;; "wasinn-bench region " as little-endian words
    (i64.store offset=0 (local.get $line) (i64.const 0x622d6e6e69736177))
    (i64.store offset=8 (local.get $line) (i64.const 0x6765722068636e65))
    (i32.store offset=16 (local.get $line) (i32.const 0x206e6f69))
    (i64.store offset=20 (local.get $line) (i64.const TOKEN0))
    (i64.store offset=28 (local.get $line) (i64.const TOKEN1))
    (i64.store offset=36 (local.get $line) (i64.const TOKEN2))
    (i64.store offset=44 (local.get $line) (i64.const TOKEN3))
    (i32.store8 offset=52 (local.get $line) (i32.const 32))
    (local.set $p (call $u64 (i32.add (local.get $line) (i32.const 53)) (global.get $t0)))
    (i32.store8 (local.get $p) (i32.const 32))
    (local.set $p (call $u64 (i32.add (local.get $p) (i32.const 1)) (local.get $t1)))
    (i32.store8 (local.get $p) (i32.const 10))
    (local.set $p (i32.add (local.get $p) (i32.const 1)))
    (local.set $stream (call $get_stderr))
    (call $write_flush (local.get $stream) (local.get $line)
      (i32.sub (local.get $p) (local.get $line)) (global.get $base))
    (call $drop_stream (local.get $stream))
    (memory.fill (local.get $line) (i32.const 0) (i32.sub (local.get $p) (local.get $line)))
    ;; result<_, stream-error>: tag 1 = err. The marks are the measurement: a lost one
    ;; must fail the run, so trap (an error resource would leak, but the run is over).
    (if (i32.load8_u (global.get $base)) (then unreachable)))
)
