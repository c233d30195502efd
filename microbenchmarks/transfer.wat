;; A component for the micro-benchmarks: moves list<u8> across one host call
;; each way, and calls a trivial host function in a loop.
(component
  (import "host" (instance $host
    (export "take" (func (param "data" (list u8))))
    (export "give" (func (result (list u8))))
    (export "noop" (func (param "x" u32) (result u32)))))
  ;; memory + realloc first: the lowered imports need them
  (core module $libc
    (memory (export "memory") 64)  ;; 4 MiB: room for a 2.5 MB list at 64
    (func (export "realloc") (param i32 i32 i32 i32) (result i32) (i32.const 64)))
  (core instance $libc (instantiate $libc))
  (core func $take (canon lower (func $host "take") (memory (core memory $libc "memory"))))
  (core func $give
    (canon lower (func $host "give") (memory (core memory $libc "memory")) (realloc (core func $libc "realloc"))))
  (core func $noop (canon lower (func $host "noop")))
  (core module $main
    (import "libc" "memory" (memory 1))
    (import "host" "take" (func $take (param i32 i32)))
    (import "host" "give" (func $give (param i32)))
    (import "host" "noop" (func $noop (param i32) (result i32)))
    ;; send LEN bytes at 64 to the host
    (func (export "send") (param $len i32) (call $take (i32.const 64) (local.get $len)))
    ;; receive a list (return area at 0: ptr, len); return its length
    (func (export "recv") (result i32) (call $give (i32.const 0)) (i32.load (i32.const 4)))
    ;; N trivial host calls
    (func (export "call-noop") (param $n i32) (result i32)
      (local $acc i32)
      (block $done
        (loop $next
          (br_if $done (i32.eqz (local.get $n)))
          (local.set $acc (i32.add (local.get $acc) (call $noop (local.get $n))))
          (local.set $n (i32.sub (local.get $n) (i32.const 1)))
          (br $next)))
      (local.get $acc)))
  (core instance $main (instantiate $main
    (with "libc" (instance $libc))
    (with "host" (instance
      (export "take" (func $take)) (export "give" (func $give)) (export "noop" (func $noop))))))
  (func (export "send") (param "len" u32) (canon lift (core func $main "send")))
  (func (export "recv") (result u32) (canon lift (core func $main "recv")))
  (func (export "call-noop") (param "n" u32) (result u32) (canon lift (core func $main "call-noop")))
)
