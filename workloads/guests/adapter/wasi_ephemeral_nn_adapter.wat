;; wasi_ephemeral_nn -> wasi:nn@0.2.0-rc-2024-10-28 adapter (docs/adapter.md).
;;
;; A core module that wit-component (`jco new --adapt wasi_ephemeral_nn=...`)
;; accepts as an adapter: it imports the main module's memory as env.memory and
;; the wasi:nn WIT functions with their canonical core signatures, and exports
;; the six legacy functions with their witx signatures (all i32 -> i32 errno).
;; No data, element or start section: all state lives in pages taken with
;; memory.grow on the first call, initialised by code.
;;
;; State layout (offsets from $base):
;;   RET     0      16 bytes   return area for WIT results (tag u8 at +0, payload at +4)
;;   NAMES   16     128 bytes  input names "0".."63": name i at NAMES+2i, 1 or 2 bytes
;;   LIST    144    768 bytes  compute's list<tuple<string, own<tensor>>>: 64 x 12 bytes
;;   GRAPHS  912    4096 bytes legacy graph id -> WIT graph handle (1024 x i32)
;;   CTXS    5008   256 records of 528 bytes, legacy context id -> record:
;;                    +0 WIT context handle, +4 number of outputs of the last compute,
;;                    +8 input tensor handles [64] (0 = not set), +264 output handles [64],
;;                    +520 1 when the last compute succeeded, +524 the graph's name block
;;   GNAMES  140288 4096 bytes legacy graph id -> name block (0 = none: decimal names)
;;   FOUND   144384 512 bytes  names found by the model parsers: 64 x {ptr, len} into
;;                              the builder (len 0 = no usable name for that input)
;;   144896 .. 196608 unused; the arena (see cabi_import_realloc; also the ONNX
;;   parser's hash set during load) starts at 196608.
;;
;; Input names: at load the adapter reads the model's input names from the builder
;; bytes (ONNX protobuf or OpenVINO IR xml) and keeps them in a name block
;; ({n, n x {ptr, len}, bytes}, from $keep pages that are never freed); compute sends
;; input i under its real name, or as the decimal "i" where none was found.
(module
  (import "env" "memory" (memory 0))

  (import "wasi:nn/graph@0.2.0-rc-2024-10-28" "load"
    (func $wit_load (param i32 i32 i32 i32 i32)))
  (import "wasi:nn/graph@0.2.0-rc-2024-10-28" "load-by-name"
    (func $wit_load_by_name (param i32 i32 i32)))
  (import "wasi:nn/graph@0.2.0-rc-2024-10-28" "[method]graph.init-execution-context"
    (func $wit_init_ctx (param i32 i32)))
  (import "wasi:nn/tensor@0.2.0-rc-2024-10-28" "[constructor]tensor"
    (func $wit_tensor_new (param i32 i32 i32 i32 i32) (result i32)))
  (import "wasi:nn/tensor@0.2.0-rc-2024-10-28" "[method]tensor.data"
    (func $wit_tensor_data (param i32 i32)))
  (import "wasi:nn/tensor@0.2.0-rc-2024-10-28" "[resource-drop]tensor"
    (func $wit_tensor_drop (param i32)))
  (import "wasi:nn/inference@0.2.0-rc-2024-10-28" "[method]graph-execution-context.compute"
    (func $wit_compute (param i32 i32 i32 i32)))
  (import "wasi:nn/errors@0.2.0-rc-2024-10-28" "[method]error.code"
    (func $wit_error_code (param i32) (result i32)))
  (import "wasi:nn/errors@0.2.0-rc-2024-10-28" "[resource-drop]error"
    (func $wit_error_drop (param i32)))

  ;; Start of the state pages; 0 until the first call.
  (global $base (mut i32) (i32.const 0))
  (global $n_graphs (mut i32) (i32.const 0))
  (global $n_ctxs (mut i32) (i32.const 0))
  ;; Bump arena for what the host allocates through cabi_import_realloc.
  (global $arena_lo (mut i32) (i32.const 0))
  (global $arena_top (mut i32) (i32.const 0))
  (global $arena_end (mut i32) (i32.const 0))
  ;; While get_output calls tensor.data: the guest's buffer, handed to the host
  ;; by cabi_import_realloc when the data fits, so the host writes straight into it.
  (global $direct (mut i32) (i32.const 0))
  (global $out_ptr (mut i32) (i32.const 0))
  (global $out_max (mut i32) (i32.const 0))

  ;; Limits (documented in docs/adapter.md).
  (global $MAX_IO i32 (i32.const 64))
  (global $MAX_GRAPHS i32 (i32.const 1024))
  (global $MAX_CTXS i32 (i32.const 256))
  (global $CTX_SIZE i32 (i32.const 528))
  ;; Permanent store for name blocks (graphs live as long as the instance).
  (global $keep_top (mut i32) (i32.const 0))
  (global $keep_end (mut i32) (i32.const 0))
  ;; Model parsers: cursor, end of the current message, and a work budget that
  ;; bounds the time spent on any bytes (exhausted = no names, decimal fallback).
  (global $cur (mut i32) (i32.const 0))
  (global $bad (mut i32) (i32.const 0))
  (global $budget (mut i32) (i32.const 0))
  (global $vp (mut i32) (i32.const 0))
  (global $vl (mut i32) (i32.const 0))
  (global $nl (mut i32) (i32.const 0))
  (global $tag_type_p (mut i32) (i32.const 0))
  (global $tag_type_l (mut i32) (i32.const 0))
  (global $tag_names_p (mut i32) (i32.const 0))
  (global $tag_names_l (mut i32) (i32.const 0))
  (global $tag_self (mut i32) (i32.const 0))
  (global $BUDGET i32 (i32.const 0x800000))
  ;; longest input name kept (longer: decimal name for that input)
  (global $MAX_NAME i32 (i32.const 1024))
  (global $STATE_PAGES i32 (i32.const 3))

  ;; witx errno
  (global $E_INVALID_ARGUMENT i32 (i32.const 1))
  (global $E_INVALID_ENCODING i32 (i32.const 2))
  (global $E_MISSING_MEMORY i32 (i32.const 3))
  (global $E_RUNTIME_ERROR i32 (i32.const 5))
  (global $E_TOO_LARGE i32 (i32.const 7))
  ;; A guest pointer or length outside memory: the canonical ABI would trap,
  ;; the legacy ABI returns an errno.
  (global $E_BAD_POINTER i32 (i32.const 1))
  ;; An unknown graph or context id, and the tables being full.
  (global $E_BAD_HANDLE i32 (i32.const 1))
  (global $E_TABLE_FULL i32 (i32.const 5))

  ;; Take the state pages (plus one arena page) on the first call and write the
  ;; input names. Returns 0 or missing_memory.
  (func $init (result i32)
    (local $old i32) (local $i i32) (local $p i32)
    (if (global.get $base) (then (return (i32.const 0))))
    (local.set $old (memory.grow (i32.add (global.get $STATE_PAGES) (i32.const 1))))
    (if (i32.eq (local.get $old) (i32.const -1))
      (then (return (global.get $E_MISSING_MEMORY))))
    (global.set $base (i32.shl (local.get $old) (i32.const 16)))
    (global.set $arena_lo
      (i32.add (global.get $base) (i32.shl (global.get $STATE_PAGES) (i32.const 16))))
    (global.set $arena_top (global.get $arena_lo))
    (global.set $arena_end (i32.add (global.get $arena_lo) (i32.const 65536)))
    ;; names: "0".."9" then two digits
    (loop $names
      (local.set $p (i32.add (i32.add (global.get $base) (i32.const 16))
                             (i32.shl (local.get $i) (i32.const 1))))
      (if (i32.lt_u (local.get $i) (i32.const 10))
        (then (i32.store8 (local.get $p) (i32.add (i32.const 48) (local.get $i))))
        (else
          (i32.store8 (local.get $p)
            (i32.add (i32.const 48) (i32.div_u (local.get $i) (i32.const 10))))
          (i32.store8 offset=1 (local.get $p)
            (i32.add (i32.const 48) (i32.rem_u (local.get $i) (i32.const 10))))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $names (i32.lt_u (local.get $i) (global.get $MAX_IO))))
    (i32.const 0))

  ;; 1 when [ptr, ptr + count * size) is not inside memory (computed without
  ;; overflow). Alignment is not checked: the legacy ABI never required it.
  (func $bad_range (param $ptr i32) (param $count i32) (param $size i32) (result i32)
    (i64.gt_u
      (i64.add (i64.extend_i32_u (local.get $ptr))
               (i64.mul (i64.extend_i32_u (local.get $count)) (i64.extend_i32_u (local.get $size))))
      (i64.shl (i64.extend_i32_u (memory.size)) (i64.const 16))))

  ;; WIT error resource -> witx errno; drops the resource.
  ;; error-code: invalid-argument 0, invalid-encoding 1, timeout 2, runtime-error 3,
  ;; unsupported-operation 4, too-large 5, not-found 6, security 7, unknown 8.
  (func $errno (param $err i32) (result i32)
    (local $code i32)
    (local.set $code (call $wit_error_code (local.get $err)))
    (call $wit_error_drop (local.get $err))
    (block $other
      (block $not_found
        (block $too_large
          (block $unsupported
            (block $encoding
              (block $argument
                (br_table $argument $encoding $other $other $unsupported $too_large $not_found
                          $other (local.get $code)))
              (return (i32.const 1)))
            (return (i32.const 2)))
          (return (i32.const 6)))
        (return (i32.const 7)))
      (return (i32.const 8)))
    (i32.const 5))

  ;; After a WIT call that returned result<own<T>, own<error>> in RET: store the
  ;; handle in the table slot, or return the mapped errno.
  (func $take_result (param $slot i32) (result i32)
    (if (i32.load8_u (global.get $base))
      (then (return (call $errno (i32.load offset=4 (global.get $base))))))
    (i32.store (local.get $slot) (i32.load offset=4 (global.get $base)))
    (i32.const 0))

  ;; Record address of a legacy context id, or 0 when unknown.
  (func $ctx (param $id i32) (result i32)
    (if (i32.ge_u (local.get $id) (global.get $n_ctxs)) (then (return (i32.const 0))))
    (i32.add (i32.add (global.get $base) (i32.const 5008))
             (i32.mul (local.get $id) (global.get $CTX_SIZE))))

  ;; Register a freshly loaded graph (RET holds the WIT result).
  (func $new_graph (param $out i32) (result i32)
    (local $rc i32)
    (local.set $rc
      (call $take_result
        (i32.add (i32.add (global.get $base) (i32.const 912))
                 (i32.shl (global.get $n_graphs) (i32.const 2)))))
    (if (local.get $rc) (then (return (local.get $rc))))
    (i32.store (local.get $out) (global.get $n_graphs))
    (global.set $n_graphs (i32.add (global.get $n_graphs) (i32.const 1)))
    (i32.const 0))

  (func (export "load")
    (param $builders i32) (param $n i32) (param $encoding i32) (param $target i32)
    (param $out i32) (result i32)
    (local $rc i32) (local $i i32) (local $b i32)
    (local.set $rc (call $init))
    (if (local.get $rc) (then (return (local.get $rc))))
    (if (call $bad_range (local.get $out) (i32.const 1) (i32.const 4))
      (then (return (global.get $E_BAD_POINTER))))
    (if (call $bad_range (local.get $builders) (local.get $n) (i32.const 8))
      (then (return (global.get $E_BAD_POINTER))))
    ;; each builder {ptr, len}: the canonical list<list<u8>> layout, passed as is
    ;; (copied only when the array is not 4-aligned)
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $b (i32.add (local.get $builders) (i32.shl (local.get $i) (i32.const 3))))
        (if (call $bad_range (i32.load (local.get $b)) (i32.load offset=4 (local.get $b))
                             (i32.const 1))
          (then (return (global.get $E_BAD_POINTER))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $each)))
    ;; witx encodings 0..4 are the WIT ones; witx autodetect 5 is WIT 6 (after ggml)
    (if (i32.gt_u (local.get $encoding) (i32.const 5))
      (then (return (global.get $E_INVALID_ENCODING))))
    (if (i32.eq (local.get $encoding) (i32.const 5)) (then (local.set $encoding (i32.const 6))))
    (if (i32.gt_u (local.get $target) (i32.const 2))
      (then (return (global.get $E_INVALID_ARGUMENT))))
    (if (i32.ge_u (global.get $n_graphs) (global.get $MAX_GRAPHS))
      (then (return (global.get $E_TABLE_FULL))))
    (global.set $arena_top (global.get $arena_lo))
    (call $wit_load (call $aligned (local.get $builders) (i32.shl (local.get $n) (i32.const 3)))
                    (local.get $n) (local.get $encoding) (local.get $target) (global.get $base))
    (local.set $rc (call $new_graph (local.get $out)))
    (if (local.get $rc) (then (return (local.get $rc))))
    ;; the model's input names, from builder 0 (the .onnx or the IR xml)
    (if (i32.and (i32.ne (local.get $n) (i32.const 0))
                 (i32.le_u (local.get $encoding) (i32.const 1)))
      (then
        (i32.store offset=140288
          (i32.add (global.get $base) (i32.shl (i32.load (local.get $out)) (i32.const 2)))
          (call $learn_names (i32.load (local.get $builders))
                             (i32.load offset=4 (local.get $builders)) (local.get $encoding)))))
    (i32.const 0))

  (func (export "load_by_name")
    (param $name i32) (param $len i32) (param $out i32) (result i32)
    (local $rc i32)
    (local.set $rc (call $init))
    (if (local.get $rc) (then (return (local.get $rc))))
    (if (call $bad_range (local.get $out) (i32.const 1) (i32.const 4))
      (then (return (global.get $E_BAD_POINTER))))
    (if (call $bad_range (local.get $name) (local.get $len) (i32.const 1))
      (then (return (global.get $E_BAD_POINTER))))
    (if (i32.eqz (call $utf8_ok (local.get $name) (local.get $len)))
      (then (return (global.get $E_INVALID_ARGUMENT))))
    (if (i32.ge_u (global.get $n_graphs) (global.get $MAX_GRAPHS))
      (then (return (global.get $E_TABLE_FULL))))
    (call $wit_load_by_name (local.get $name) (local.get $len) (global.get $base))
    (call $new_graph (local.get $out)))

  (func (export "init_execution_context") (param $graph i32) (param $out i32) (result i32)
    (local $rc i32) (local $rec i32)
    (local.set $rc (call $init))
    (if (local.get $rc) (then (return (local.get $rc))))
    (if (call $bad_range (local.get $out) (i32.const 1) (i32.const 4))
      (then (return (global.get $E_BAD_POINTER))))
    (if (i32.ge_u (local.get $graph) (global.get $n_graphs))
      (then (return (global.get $E_BAD_HANDLE))))
    (if (i32.ge_u (global.get $n_ctxs) (global.get $MAX_CTXS))
      (then (return (global.get $E_TABLE_FULL))))
    (call $wit_init_ctx
      (i32.load offset=912 (i32.add (global.get $base) (i32.shl (local.get $graph) (i32.const 2))))
      (global.get $base))
    ;; the record of a new id is still all zeros (fresh pages, ids never reused)
    (local.set $rec (i32.add (i32.add (global.get $base) (i32.const 5008))
                             (i32.mul (global.get $n_ctxs) (global.get $CTX_SIZE))))
    (local.set $rc (call $take_result (local.get $rec)))
    (if (local.get $rc) (then (return (local.get $rc))))
    (i32.store offset=524 (local.get $rec)
      (i32.load offset=140288
        (i32.add (global.get $base) (i32.shl (local.get $graph) (i32.const 2)))))
    (i32.store (local.get $out) (global.get $n_ctxs))
    (global.set $n_ctxs (i32.add (global.get $n_ctxs) (i32.const 1)))
    (i32.const 0))

  ;; Bytes a tensor of these dims and witx type needs, saturated at 2^32 + 1
  ;; (more than any data length).
  (func $tensor_bytes (param $dims i32) (param $n i32) (param $ty i32) (result i64)
    (local $prod i64) (local $d i64) (local $zero i32) (local $i i32)
    (local.set $prod (i64.const 1))
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $d (i64.load32_u (i32.add (local.get $dims) (i32.shl (local.get $i) (i32.const 2)))))
        (if (i64.eqz (local.get $d)) (then (local.set $zero (i32.const 1))))
        (local.set $prod (i64.mul (local.get $prod) (local.get $d)))
        (if (i64.gt_u (local.get $prod) (i64.const 0x100000000))
          (then (local.set $prod (i64.const 0x100000001))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $each)))
    (if (local.get $zero) (then (return (i64.const 0))))
    ;; element size: f16 2, f32 4, f64 8, u8 1, i32 4, i64 8
    (i64.mul (local.get $prod)
      (i64.extend_i32_u
        (i32.and (i32.shr_u (i32.const 0x841842) (i32.shl (local.get $ty) (i32.const 2)))
                 (i32.const 15)))))

  ;; Makes a WIT tensor now (the host copies the data, as the legacy set_input
  ;; does) and keeps it for the next compute, replacing one set earlier.
  (func (export "set_input") (param $id i32) (param $index i32) (param $t i32) (result i32)
    (local $rec i32) (local $ty i32) (local $slot i32) (local $h i32)
    (local.set $rec (call $ctx (local.get $id)))
    (if (i32.eqz (local.get $rec)) (then (return (global.get $E_BAD_HANDLE))))
    (if (i32.ge_u (local.get $index) (global.get $MAX_IO))
      (then (return (global.get $E_INVALID_ARGUMENT))))
    (if (call $bad_range (local.get $t) (i32.const 1) (i32.const 20))
      (then (return (global.get $E_BAD_POINTER))))
    (if (call $bad_range (i32.load (local.get $t)) (i32.load offset=4 (local.get $t))
                         (i32.const 4))
      (then (return (global.get $E_BAD_POINTER))))
    (if (call $bad_range (i32.load offset=12 (local.get $t)) (i32.load offset=16 (local.get $t))
                         (i32.const 1))
      (then (return (global.get $E_BAD_POINTER))))
    ;; witx f16 0, f32 1, f64 2, u8 3, i32 4, i64 5 -> WIT FP16 0, FP32 1, FP64 2,
    ;; (BF16 3), U8 4, I32 5, I64 6
    (local.set $ty (i32.load8_u offset=8 (local.get $t)))
    (if (i32.gt_u (local.get $ty) (i32.const 5)) (then (return (global.get $E_INVALID_ARGUMENT))))
    ;; the data must be exactly dims x element size, as the legacy hosts check here
    (if (i64.ne (call $tensor_bytes (i32.load (local.get $t)) (i32.load offset=4 (local.get $t))
                                    (local.get $ty))
                (i64.extend_i32_u (i32.load offset=16 (local.get $t))))
      (then (return (global.get $E_INVALID_ARGUMENT))))
    (if (i32.ge_u (local.get $ty) (i32.const 3))
      (then (local.set $ty (i32.add (local.get $ty) (i32.const 1)))))
    (global.set $arena_top (global.get $arena_lo))
    (local.set $h
      (call $wit_tensor_new
        (call $aligned (i32.load (local.get $t)) (i32.shl (i32.load offset=4 (local.get $t))
                                                          (i32.const 2)))
        (i32.load offset=4 (local.get $t)) (local.get $ty)
        (i32.load offset=12 (local.get $t)) (i32.load offset=16 (local.get $t))))
    (local.set $slot (i32.add (i32.add (local.get $rec) (i32.const 8))
                              (i32.shl (local.get $index) (i32.const 2))))
    (if (i32.load (local.get $slot))
      (then (call $wit_tensor_drop (i32.load (local.get $slot)))))
    (i32.store (local.get $slot) (local.get $h))
    (i32.const 0))

  ;; Sends every input set since the last compute as (name, tensor), in index
  ;; order (the tensors move to the host): the model's name of input i when load
  ;; found one, else the decimal "i". Keeps the returned output handles by position.
  (func (export "compute") (param $id i32) (result i32)
    (local $rec i32) (local $i i32) (local $n i32) (local $h i32) (local $e i32)
    (local $list i32) (local $len i32) (local $names i32) (local $ent i32)
    (local.set $rec (call $ctx (local.get $id)))
    (if (i32.eqz (local.get $rec)) (then (return (global.get $E_BAD_HANDLE))))
    (call $drop_outputs (local.get $rec))
    (local.set $names (i32.load offset=524 (local.get $rec)))
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $i) (global.get $MAX_IO)))
        (local.set $h (i32.load offset=8 (i32.add (local.get $rec)
                                                  (i32.shl (local.get $i) (i32.const 2)))))
        (if (local.get $h)
          (then
            (local.set $e (i32.add (i32.add (global.get $base) (i32.const 144))
                                   (i32.mul (local.get $n) (i32.const 12))))
            (i32.store (local.get $e)
              (i32.add (i32.add (global.get $base) (i32.const 16))
                       (i32.shl (local.get $i) (i32.const 1))))
            (i32.store offset=4 (local.get $e)
              (i32.add (i32.const 1) (i32.ge_u (local.get $i) (i32.const 10))))
            (if (local.get $names)
              (then
                (if (i32.lt_u (local.get $i) (i32.load (local.get $names)))
                  (then
                    (local.set $ent (i32.add (i32.add (local.get $names) (i32.const 4))
                                             (i32.shl (local.get $i) (i32.const 3))))
                    (if (i32.load offset=4 (local.get $ent))
                      (then
                        (i32.store (local.get $e) (i32.load (local.get $ent)))
                        (i32.store offset=4 (local.get $e)
                          (i32.load offset=4 (local.get $ent)))))))))
            (i32.store offset=8 (local.get $e) (local.get $h))
            (i32.store offset=8 (i32.add (local.get $rec) (i32.shl (local.get $i) (i32.const 2)))
                       (i32.const 0))
            (local.set $n (i32.add (local.get $n) (i32.const 1)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $each)))
    (global.set $arena_top (global.get $arena_lo))
    (call $wit_compute (i32.load (local.get $rec)) (i32.add (global.get $base) (i32.const 144))
                       (local.get $n) (global.get $base))
    (if (i32.load8_u (global.get $base))
      (then (return (call $errno (i32.load offset=4 (global.get $base))))))
    ;; ok: list<tuple<string, own<tensor>>> at RET+4 (ptr, len), 12-byte elements
    (local.set $list (i32.load offset=4 (global.get $base)))
    (local.set $len (i32.load offset=8 (global.get $base)))
    (local.set $i (i32.const 0))
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
        (local.set $h (i32.load offset=8 (i32.add (local.get $list)
                                                  (i32.mul (local.get $i) (i32.const 12)))))
        (if (i32.lt_u (local.get $i) (global.get $MAX_IO))
          (then (i32.store offset=264
                  (i32.add (local.get $rec) (i32.shl (local.get $i) (i32.const 2)))
                  (local.get $h)))
          (else (call $wit_tensor_drop (local.get $h))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $each)))
    (i32.store offset=4 (local.get $rec)
      (select (local.get $len) (global.get $MAX_IO)
              (i32.lt_u (local.get $len) (global.get $MAX_IO))))
    (i32.store offset=520 (local.get $rec) (i32.const 1))
    (i32.const 0))

  (func $drop_outputs (param $rec i32)
    (local $i i32) (local $n i32)
    (local.set $n (i32.load offset=4 (local.get $rec)))
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (call $wit_tensor_drop
          (i32.load offset=264 (i32.add (local.get $rec) (i32.shl (local.get $i) (i32.const 2)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $each)))
    (i32.store offset=4 (local.get $rec) (i32.const 0))
    (i32.store offset=520 (local.get $rec) (i32.const 0)))

  (func (export "get_output")
    (param $id i32) (param $index i32) (param $buf i32) (param $max i32) (param $written i32)
    (result i32)
    (local $rec i32) (local $len i32)
    (local.set $rec (call $ctx (local.get $id)))
    (if (i32.eqz (local.get $rec)) (then (return (global.get $E_BAD_HANDLE))))
    (if (call $bad_range (local.get $written) (i32.const 1) (i32.const 4))
      (then (return (global.get $E_BAD_POINTER))))
    (if (call $bad_range (local.get $buf) (local.get $max) (i32.const 1))
      (then (return (global.get $E_BAD_POINTER))))
    ;; no successful compute yet: nothing to get (runtime_error, as the legacy hosts)
    (if (i32.eqz (i32.load offset=520 (local.get $rec)))
      (then (return (global.get $E_RUNTIME_ERROR))))
    (if (i32.ge_u (local.get $index) (i32.load offset=4 (local.get $rec)))
      (then (return (global.get $E_INVALID_ARGUMENT))))
    (global.set $arena_top (global.get $arena_lo))
    (global.set $out_ptr (local.get $buf))
    (global.set $out_max (local.get $max))
    (global.set $direct (i32.const 1))
    (call $wit_tensor_data
      (i32.load offset=264 (i32.add (local.get $rec) (i32.shl (local.get $index) (i32.const 2))))
      (global.get $base))
    (global.set $direct (i32.const 0))
    (local.set $len (i32.load offset=4 (global.get $base)))
    ;; too big: the host wrote into the arena instead; nothing reaches the guest
    (if (i32.gt_u (local.get $len) (local.get $max)) (then (return (global.get $E_TOO_LARGE))))
    (i32.store (local.get $written) (local.get $len))
    (i32.const 0))

  ;; Experimental backend properties query (docs/properties.md): wasi:nn has no
  ;; such function, and importing our own interface would stop the component
  ;; from instantiating on hosts without it, so: unsupported_operation (6).
  (func (export "properties")
    (param $encoding i32) (param $target i32) (param $buf i32) (param $max i32)
    (param $written i32) (result i32)
    (i32.const 6))

  ;; Allocator for values the host lowers into memory (compute's result list and
  ;; names, tensor.data). During get_output the guest's own buffer is returned
  ;; when the data fits. Otherwise a bump arena that is reset before each call
  ;; that uses it; when a request does not fit, a larger arena is grown and kept
  ;; (the old one is abandoned), so memory only grows until the largest request.
  (func (export "cabi_import_realloc")
    (param $old i32) (param $old_size i32) (param $align i32) (param $size i32) (result i32)
    (if (i32.and (global.get $direct) (i32.le_u (local.get $size) (global.get $out_max)))
      (then
        (global.set $direct (i32.const 0))
        (return (global.get $out_ptr))))
    (call $alloc (local.get $size) (local.get $align)))

  ;; Bump allocation in the arena. When a request does not fit, a larger arena
  ;; (at least twice the current one) is grown and kept; the old one is abandoned,
  ;; so memory only grows until the largest request has been seen.
  (func $alloc (param $size i32) (param $align i32) (result i32)
    (local $p i32)
    (local.set $p (call $try_alloc (local.get $size) (local.get $align)))
    (if (i32.eqz (local.get $p)) (then (unreachable)))
    (local.get $p))

  ;; $alloc, or 0 when memory cannot grow (the name parser then gives up instead).
  (func $try_alloc (param $size i32) (param $align i32) (result i32)
    (local $p i32) (local $pages i32) (local $twice i32) (local $got i32)
    (local.set $p (i32.and (i32.add (global.get $arena_top) (i32.sub (local.get $align) (i32.const 1)))
                           (i32.sub (i32.const 0) (local.get $align))))
    (if (i64.gt_u (i64.add (i64.extend_i32_u (local.get $p)) (i64.extend_i32_u (local.get $size)))
                  (i64.extend_i32_u (global.get $arena_end)))
      (then
        (local.set $pages
          (i32.wrap_i64 (i64.shr_u (i64.add (i64.add (i64.extend_i32_u (local.get $size))
                                                     (i64.extend_i32_u (local.get $align)))
                                            (i64.const 65535))
                                   (i64.const 16))))
        (local.set $twice
          (i32.shr_u (i32.sub (global.get $arena_end) (global.get $arena_lo)) (i32.const 15)))
        (if (i32.lt_u (local.get $pages) (local.get $twice))
          (then (local.set $pages (local.get $twice))))
        (local.set $got (memory.grow (local.get $pages)))
        (if (i32.eq (local.get $got) (i32.const -1)) (then (return (i32.const 0))))
        (global.set $arena_lo (i32.shl (local.get $got) (i32.const 16)))
        (global.set $arena_end
          (i32.add (global.get $arena_lo) (i32.shl (local.get $pages) (i32.const 16))))
        (local.set $p (i32.and (i32.add (global.get $arena_lo)
                                        (i32.sub (local.get $align) (i32.const 1)))
                               (i32.sub (i32.const 0) (local.get $align))))))
    (global.set $arena_top (i32.add (local.get $p) (local.get $size)))
    (local.get $p))

  ;; ptr when it is 4-aligned, else a 4-aligned copy of [ptr, ptr + len) in the
  ;; arena: the canonical ABI wants aligned lists, the legacy ABI never asked.
  (func $aligned (param $ptr i32) (param $len i32) (result i32)
    (local $p i32)
    (if (i32.eqz (i32.and (local.get $ptr) (i32.const 3))) (then (return (local.get $ptr))))
    (local.set $p (call $alloc (local.get $len) (i32.const 4)))
    (memory.copy (local.get $p) (local.get $ptr) (local.get $len))
    (local.get $p))

  ;; 1 when [p, p + len) is valid UTF-8 (the canonical ABI traps on a bad string,
  ;; the legacy ABI returns invalid_argument).
  (func $utf8_ok (param $p i32) (param $len i32) (result i32)
    (local $end i32) (local $c i32) (local $need i32) (local $min i32) (local $cp i32)
    (local.set $end (i32.add (local.get $p) (local.get $len)))
    (block $ok
      (loop $each
        (br_if $ok (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $c (i32.load8_u (local.get $p)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br_if $each (i32.lt_u (local.get $c) (i32.const 0x80)))
        ;; lead byte: number of continuation bytes and the smallest code point
        (if (i32.eq (i32.and (local.get $c) (i32.const 0xe0)) (i32.const 0xc0))
          (then (local.set $need (i32.const 1)) (local.set $min (i32.const 0x80))
                (local.set $cp (i32.and (local.get $c) (i32.const 0x1f))))
          (else
            (if (i32.eq (i32.and (local.get $c) (i32.const 0xf0)) (i32.const 0xe0))
              (then (local.set $need (i32.const 2)) (local.set $min (i32.const 0x800))
                    (local.set $cp (i32.and (local.get $c) (i32.const 0x0f))))
              (else
                (if (i32.eq (i32.and (local.get $c) (i32.const 0xf8)) (i32.const 0xf0))
                  (then (local.set $need (i32.const 3)) (local.set $min (i32.const 0x10000))
                        (local.set $cp (i32.and (local.get $c) (i32.const 0x07))))
                  (else (return (i32.const 0))))))))
        (if (i32.gt_u (local.get $need) (i32.sub (local.get $end) (local.get $p)))
          (then (return (i32.const 0))))
        (loop $cont
          (local.set $c (i32.load8_u (local.get $p)))
          (if (i32.ne (i32.and (local.get $c) (i32.const 0xc0)) (i32.const 0x80))
            (then (return (i32.const 0))))
          (local.set $cp (i32.or (i32.shl (local.get $cp) (i32.const 6))
                                 (i32.and (local.get $c) (i32.const 0x3f))))
          (local.set $p (i32.add (local.get $p) (i32.const 1)))
          (local.set $need (i32.sub (local.get $need) (i32.const 1)))
          (br_if $cont (local.get $need)))
        ;; overlong, surrogate or beyond U+10FFFF
        (if (i32.or (i32.lt_u (local.get $cp) (local.get $min))
                    (i32.or (i32.gt_u (local.get $cp) (i32.const 0x10ffff))
                            (i32.eq (i32.and (local.get $cp) (i32.const 0xfff800))
                                    (i32.const 0xd800))))
          (then (return (i32.const 0))))
        (br $each)))
    (i32.const 1))

  ;; ---- input names from the model (docs/adapter.md, "Input names") -------------
  ;;
  ;; Both parsers only read [buf, buf + len) (checked by load) and advance on every
  ;; step: the xml scan is one linear pass, the protobuf walker spends $budget (its
  ;; initializer-name hash set lives in the arena), so any bytes end in bounded time;
  ;; what they cannot parse yields no names (decimal names, as before). They write up
  ;; to 64 {ptr, len} into FOUND and return how many inputs they found, or -1.

  ;; Name block for builder 0 of a loaded graph, or 0 (decimal names).
  (func $learn_names (param $buf i32) (param $len i32) (param $encoding i32) (result i32)
    (local $n i32) (local $i i32) (local $e i32) (local $total i32) (local $blk i32)
    (local $dst i32) (local $p i32) (local $l i32)
    (global.set $budget (global.get $BUDGET))
    ;; openvino: an IR xml starts with '<' (after blanks); otherwise OpenVINO reads
    ;; the bytes as ONNX, so they are parsed as ONNX
    (local.set $p (local.get $buf))
    (block $blank
      (loop $skip
        (br_if $blank (i32.ge_u (local.get $p) (i32.add (local.get $buf) (local.get $len))))
        (br_if $blank (i32.eqz (call $is_space (i32.load8_u (local.get $p)))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $skip)))
    (if (i32.and (i32.eqz (local.get $encoding))
                 (i32.and (i32.lt_u (local.get $p) (i32.add (local.get $buf) (local.get $len)))
                          (i32.eq (i32.load8_u (local.get $p)) (i32.const 60))))
      (then (local.set $n (call $xml_inputs (local.get $buf) (local.get $len))))
      (else (local.set $n (call $onnx_inputs (local.get $buf) (local.get $len)))))
    (if (i32.le_s (local.get $n) (i32.const 0)) (then (return (i32.const 0))))
    ;; drop names the canonical ABI cannot carry (bad UTF-8) or that are too long
    (local.set $total (i32.add (i32.const 4) (i32.shl (local.get $n) (i32.const 3))))
    (loop $each
      (local.set $e (i32.add (i32.add (global.get $base) (i32.const 144384))
                             (i32.shl (local.get $i) (i32.const 3))))
      (local.set $l (i32.load offset=4 (local.get $e)))
      (if (i32.or (i32.gt_u (local.get $l) (global.get $MAX_NAME))
                  (i32.eqz (call $utf8_ok (i32.load (local.get $e)) (local.get $l))))
        (then (i32.store offset=4 (local.get $e) (i32.const 0)) (local.set $l (i32.const 0))))
      (local.set $total (i32.add (local.get $total) (local.get $l)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $each (i32.lt_u (local.get $i) (local.get $n))))
    (local.set $blk (call $keep (local.get $total)))
    (if (i32.eqz (local.get $blk)) (then (return (i32.const 0))))
    (i32.store (local.get $blk) (local.get $n))
    (local.set $dst (i32.add (i32.add (local.get $blk) (i32.const 4))
                             (i32.shl (local.get $n) (i32.const 3))))
    (local.set $i (i32.const 0))
    (loop $copy
      (local.set $e (i32.add (i32.add (global.get $base) (i32.const 144384))
                             (i32.shl (local.get $i) (i32.const 3))))
      (local.set $l (i32.load offset=4 (local.get $e)))
      (memory.copy (local.get $dst) (i32.load (local.get $e)) (local.get $l))
      (local.set $p (i32.add (i32.add (local.get $blk) (i32.const 4))
                             (i32.shl (local.get $i) (i32.const 3))))
      (i32.store (local.get $p) (local.get $dst))
      (i32.store offset=4 (local.get $p) (local.get $l))
      (local.set $dst (i32.add (local.get $dst) (local.get $l)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $copy (i32.lt_u (local.get $i) (local.get $n))))
    (local.get $blk))

  ;; $size bytes (4-aligned) that are never freed, or 0 when memory cannot grow.
  (func $keep (param $size i32) (result i32)
    (local $p i32) (local $pages i32) (local $got i32)
    (local.set $size (i32.and (i32.add (local.get $size) (i32.const 3)) (i32.const -4)))
    (if (i32.gt_u (i32.add (global.get $keep_top) (local.get $size)) (global.get $keep_end))
      (then
        (local.set $pages (i32.shr_u (i32.add (local.get $size) (i32.const 65535)) (i32.const 16)))
        (local.set $got (memory.grow (local.get $pages)))
        (if (i32.eq (local.get $got) (i32.const -1)) (then (return (i32.const 0))))
        (global.set $keep_top (i32.shl (local.get $got) (i32.const 16)))
        (global.set $keep_end
          (i32.add (global.get $keep_top) (i32.shl (local.get $pages) (i32.const 16))))))
    (local.set $p (global.get $keep_top))
    (global.set $keep_top (i32.add (local.get $p) (local.get $size)))
    (local.get $p))

  (func $is_space (param $c i32) (result i32)
    (i32.or (i32.or (i32.eq (local.get $c) (i32.const 32)) (i32.eq (local.get $c) (i32.const 9)))
            (i32.or (i32.eq (local.get $c) (i32.const 10)) (i32.eq (local.get $c) (i32.const 13)))))

  ;; 1 when [a, a + n) and [b, b + n) hold the same bytes.
  (func $same (param $a i32) (param $b i32) (param $n i32) (result i32)
    (block $diff
      (loop $each
        (if (i32.eqz (local.get $n)) (then (return (i32.const 1))))
        (br_if $diff (i32.ne (i32.load8_u (local.get $a)) (i32.load8_u (local.get $b))))
        (local.set $a (i32.add (local.get $a) (i32.const 1)))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $each)))
    (i32.const 0))

  ;; -- ONNX protobuf: ModelProto.graph (7) -> GraphProto.input (11, ValueInfoProto,
  ;; name 1) minus GraphProto.initializer (5, TensorProto, name 8), in order.

  ;; A base-128 varint at $cur (< $end); sets $bad when it runs out or is too long.
  (func $varint (param $end i32) (result i64)
    (local $v i64) (local $shift i64) (local $c i32)
    (loop $each
      (if (i32.or (i32.ge_u (global.get $cur) (local.get $end))
                  (i64.ge_u (local.get $shift) (i64.const 64)))
        (then (global.set $bad (i32.const 1)) (return (i64.const 0))))
      (local.set $c (i32.load8_u (global.get $cur)))
      (global.set $cur (i32.add (global.get $cur) (i32.const 1)))
      (local.set $v (i64.or (local.get $v)
        (i64.shl (i64.extend_i32_u (i32.and (local.get $c) (i32.const 127))) (local.get $shift))))
      (local.set $shift (i64.add (local.get $shift) (i64.const 7)))
      (br_if $each (i32.and (local.get $c) (i32.const 128))))
    (local.get $v))

  ;; The next field of the message that ends at $end: returns its key
  ;; (field << 3 | wire type), 0 at the end, -1 on bad bytes or an empty budget.
  ;; A length-delimited value is left in [$vp, $vp + $vl); others are skipped.
  (func $field (param $end i32) (result i32)
    (local $key i64) (local $len i64) (local $wt i32)
    (if (i32.ge_u (global.get $cur) (local.get $end)) (then (return (i32.const 0))))
    (if (i32.eqz (global.get $budget)) (then (return (i32.const -1))))
    (global.set $budget (i32.sub (global.get $budget) (i32.const 1)))
    (local.set $key (call $varint (local.get $end)))
    (if (i32.or (global.get $bad)
                (i32.or (i64.lt_u (local.get $key) (i64.const 8))
                        (i64.gt_u (local.get $key) (i64.const 0xfffffff))))
      (then (return (i32.const -1))))
    (local.set $wt (i32.and (i32.wrap_i64 (local.get $key)) (i32.const 7)))
    (if (i32.eqz (local.get $wt))
      (then (drop (call $varint (local.get $end)))
            (return (select (i32.const -1) (i32.wrap_i64 (local.get $key)) (global.get $bad)))))
    (if (i32.eq (local.get $wt) (i32.const 2))
      (then
        (local.set $len (call $varint (local.get $end)))
        (if (i32.or (global.get $bad)
                    (i64.gt_u (local.get $len)
                              (i64.extend_i32_u (i32.sub (local.get $end) (global.get $cur)))))
          (then (return (i32.const -1))))
        (global.set $vp (global.get $cur))
        (global.set $vl (i32.wrap_i64 (local.get $len)))
        (global.set $cur (i32.add (global.get $cur) (global.get $vl)))
        (return (i32.wrap_i64 (local.get $key)))))
    ;; fixed64 (1) and fixed32 (5); groups (3, 4) and 6, 7 are not parsed
    (if (i32.eq (local.get $wt) (i32.const 1)) (then (local.set $len (i64.const 8)))
      (else (if (i32.eq (local.get $wt) (i32.const 5)) (then (local.set $len (i64.const 4)))
              (else (return (i32.const -1))))))
    (if (i64.gt_u (local.get $len)
                  (i64.extend_i32_u (i32.sub (local.get $end) (global.get $cur))))
      (then (return (i32.const -1))))
    (global.set $cur (i32.add (global.get $cur) (i32.wrap_i64 (local.get $len))))
    (i32.wrap_i64 (local.get $key)))

  ;; The first string field `key` of the message [p, p + l): its pointer, length
  ;; in $nl (an absent name is empty); -1 on bad bytes. Keeps $cur.
  (func $msg_string (param $p i32) (param $l i32) (param $key i32) (result i32)
    (local $saved i32) (local $k i32) (local $end i32)
    (local.set $saved (global.get $cur))
    (local.set $end (i32.add (local.get $p) (local.get $l)))
    (global.set $cur (local.get $p))
    (global.set $nl (i32.const 0))
    (block $done
      (loop $each
        (local.set $k (call $field (local.get $end)))
        (br_if $done (i32.le_s (local.get $k) (i32.const 0)))
        (if (i32.eq (local.get $k) (local.get $key))
          (then (global.set $cur (local.get $saved))
                (global.set $nl (global.get $vl))
                (return (global.get $vp))))
        (br $each)))
    (global.set $cur (local.get $saved))
    (select (i32.const -1) (local.get $p) (i32.lt_s (local.get $k) (i32.const 0))))

  ;; Charges the parse budget; 0 when it is spent.
  (func $spend (param $cost i32) (result i32)
    (if (i32.lt_u (global.get $budget) (local.get $cost)) (then (return (i32.const 0))))
    (global.set $budget (i32.sub (global.get $budget) (local.get $cost)))
    (i32.const 1))

  ;; FNV-1a of [p, p + l).
  (func $hash (param $p i32) (param $l i32) (result i32)
    (local $h i32)
    (local.set $h (i32.const 0x811c9dc5))
    (block $done
      (loop $each
        (br_if $done (i32.eqz (local.get $l)))
        (local.set $h (i32.mul (i32.xor (local.get $h) (i32.load8_u (local.get $p)))
                               (i32.const 0x01000193)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (local.set $l (i32.sub (local.get $l) (i32.const 1)))
        (br $each)))
    (local.get $h))

  ;; The set of initializer names: an open-addressing table of {ptr, len} slots at $tab
  ;; ($mask + 1 slots, at most half full; len -1 = empty). With $add, puts [np, np + nl)
  ;; in and returns 0; else returns 1 when it is there, 0 when not. -1 when the budget is
  ;; spent (hashing and comparing cost len / 16, every probe 1: colliding names stay bounded).
  (func $name_set (param $tab i32) (param $mask i32) (param $np i32) (param $nl i32)
    (param $add i32) (result i32)
    (local $i i32) (local $slot i32) (local $len i32)
    (if (i32.eqz (call $spend (i32.add (i32.const 1) (i32.shr_u (local.get $nl) (i32.const 4)))))
      (then (return (i32.const -1))))
    (local.set $i (i32.and (call $hash (local.get $np) (local.get $nl)) (local.get $mask)))
    (loop $probe
      (local.set $slot (i32.add (local.get $tab) (i32.shl (local.get $i) (i32.const 3))))
      (local.set $len (i32.load offset=4 (local.get $slot)))
      (if (i32.eq (local.get $len) (i32.const -1))
        (then
          (if (local.get $add)
            (then (i32.store (local.get $slot) (local.get $np))
                  (i32.store offset=4 (local.get $slot) (local.get $nl))))
          (return (i32.const 0))))
      (if (i32.eqz (call $spend (i32.const 1))) (then (return (i32.const -1))))
      (if (i32.and (i32.eqz (local.get $add)) (i32.eq (local.get $len) (local.get $nl)))
        (then
          (if (i32.eqz (call $spend (i32.shr_u (local.get $nl) (i32.const 4))))
            (then (return (i32.const -1))))
          (if (call $same (i32.load (local.get $slot)) (local.get $np) (local.get $nl))
            (then (return (i32.const 1))))))
      (local.set $i (i32.and (i32.add (local.get $i) (i32.const 1)) (local.get $mask)))
      (br $probe))
    (i32.const 0))

  (func $onnx_inputs (param $buf i32) (param $len i32) (result i32)
    (local $end i32) (local $k i32) (local $g i32) (local $gl i32) (local $gend i32)
    (local $n i32) (local $np i32) (local $nl i32) (local $r i32) (local $e i32)
    (local $ni i32) (local $arr i32) (local $mask i32)
    (local.set $end (i32.add (local.get $buf) (local.get $len)))
    (global.set $bad (i32.const 0))
    (global.set $cur (local.get $buf))
    (local.set $gl (i32.const -1))
    ;; ModelProto.graph = field 7, length-delimited: key 58 (the last one counts)
    (block $done
      (loop $each
        (local.set $k (call $field (local.get $end)))
        (if (i32.lt_s (local.get $k) (i32.const 0)) (then (return (i32.const -1))))
        (br_if $done (i32.eqz (local.get $k)))
        (if (i32.eq (local.get $k) (i32.const 58))
          (then (local.set $g (global.get $vp)) (local.set $gl (global.get $vl))))
        (br $each)))
    (if (i32.eq (local.get $gl) (i32.const -1)) (then (return (i32.const -1))))
    (local.set $gend (i32.add (local.get $g) (local.get $gl)))
    ;; the initializers' names (GraphProto.initializer = field 5: key 42; TensorProto.name
    ;; = field 8: key 66) into a hash set in the arena: count, then fill
    (global.set $cur (local.get $g))
    (block $counted
      (loop $each
        (local.set $k (call $field (local.get $gend)))
        (if (i32.lt_s (local.get $k) (i32.const 0)) (then (return (i32.const -1))))
        (br_if $counted (i32.eqz (local.get $k)))
        (if (i32.eq (local.get $k) (i32.const 42))
          (then (local.set $ni (i32.add (local.get $ni) (i32.const 1)))))
        (br $each)))
    ;; at most 65536 initializers: a table of at most 131072 slots (1 MiB)
    (if (i32.gt_u (local.get $ni) (i32.const 65536)) (then (return (i32.const -1))))
    (local.set $mask (i32.const 16))
    (loop $grow
      (if (i32.lt_u (local.get $mask) (i32.shl (local.get $ni) (i32.const 1)))
        (then (local.set $mask (i32.shl (local.get $mask) (i32.const 1))) (br $grow))))
    (global.set $arena_top (global.get $arena_lo))
    (local.set $arr (call $try_alloc (i32.shl (local.get $mask) (i32.const 3)) (i32.const 4)))
    (if (i32.eqz (local.get $arr)) (then (return (i32.const -1))))
    (memory.fill (local.get $arr) (i32.const 0xff) (i32.shl (local.get $mask) (i32.const 3)))
    (local.set $mask (i32.sub (local.get $mask) (i32.const 1)))
    (global.set $cur (local.get $g))
    (block $filled
      (loop $each
        (local.set $k (call $field (local.get $gend)))
        (if (i32.lt_s (local.get $k) (i32.const 0)) (then (return (i32.const -1))))
        (br_if $filled (i32.eqz (local.get $k)))
        (if (i32.eq (local.get $k) (i32.const 42))
          (then
            (local.set $np (call $msg_string (global.get $vp) (global.get $vl) (i32.const 66)))
            (if (i32.eq (local.get $np) (i32.const -1)) (then (return (i32.const -1))))
            (if (i32.lt_s (call $name_set (local.get $arr) (local.get $mask) (local.get $np)
                                          (global.get $nl) (i32.const 1))
                          (i32.const 0))
              (then (return (i32.const -1))))))
        (br $each)))
    (global.set $cur (local.get $g))
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $n) (global.get $MAX_IO)))
        (local.set $k (call $field (local.get $gend)))
        (if (i32.lt_s (local.get $k) (i32.const 0)) (then (return (i32.const -1))))
        (br_if $done (i32.eqz (local.get $k)))
        ;; GraphProto.input = field 11: key 90; ValueInfoProto.name = field 1: key 10
        (if (i32.eq (local.get $k) (i32.const 90))
          (then
            (local.set $np (call $msg_string (global.get $vp) (global.get $vl) (i32.const 10)))
            (if (i32.eq (local.get $np) (i32.const -1)) (then (return (i32.const -1))))
            (local.set $nl (global.get $nl))
            (local.set $r (call $name_set (local.get $arr) (local.get $mask)
                                          (local.get $np) (local.get $nl) (i32.const 0)))
            (if (i32.lt_s (local.get $r) (i32.const 0)) (then (return (i32.const -1))))
            (if (i32.eqz (local.get $r))
              (then
                (local.set $e (i32.add (i32.add (global.get $base) (i32.const 144384))
                                       (i32.shl (local.get $n) (i32.const 3))))
                (i32.store (local.get $e) (local.get $np))
                (i32.store offset=4 (local.get $e) (local.get $nl))
                (local.set $n (i32.add (local.get $n) (i32.const 1)))))))
        (br $each)))
    (local.get $n))

  ;; -- OpenVINO IR xml: the Parameter layers at the top level of <layers>, in
  ;; document order (the order OpenVINO numbers model inputs); each one's name is
  ;; the first tensor name in its output port's `names` attribute that needs no
  ;; unescaping (no '\' or '&'). Layers nested in a layer (loop bodies) are skipped.

  ;; Parses the attributes of a tag from p (just after its name) to its '>':
  ;; records `type` and `names` values and whether the tag closes itself ("/>").
  ;; Returns the position after '>', or 0 when the tag does not end properly.
  (func $xml_tag (param $p i32) (param $end i32) (result i32)
    (local $c i32) (local $a i32) (local $al i32) (local $q i32) (local $v i32)
    (global.set $tag_type_l (i32.const 0))
    (global.set $tag_names_l (i32.const 0))
    (global.set $tag_self (i32.const 0))
    (loop $attr
      (loop $blank
        (if (i32.ge_u (local.get $p) (local.get $end)) (then (return (i32.const 0))))
        (if (call $is_space (i32.load8_u (local.get $p)))
          (then (local.set $p (i32.add (local.get $p) (i32.const 1))) (br $blank))))
      (local.set $c (i32.load8_u (local.get $p)))
      (if (i32.eq (local.get $c) (i32.const 62)) (then (return (i32.add (local.get $p) (i32.const 1)))))
      (if (i32.eq (local.get $c) (i32.const 47))
        (then
          (if (i32.ge_u (i32.add (local.get $p) (i32.const 1)) (local.get $end))
            (then (return (i32.const 0))))
          (if (i32.ne (i32.load8_u offset=1 (local.get $p)) (i32.const 62))
            (then (return (i32.const 0))))
          (global.set $tag_self (i32.const 1))
          (return (i32.add (local.get $p) (i32.const 2)))))
      ;; attribute name up to '=' or a blank
      (local.set $a (local.get $p))
      (block $name_end
        (loop $name
          (br_if $name_end (i32.ge_u (local.get $p) (local.get $end)))
          (local.set $c (i32.load8_u (local.get $p)))
          (br_if $name_end (i32.or (i32.eq (local.get $c) (i32.const 61)) (call $is_space (local.get $c))))
          (if (i32.or (i32.eq (local.get $c) (i32.const 62)) (i32.eq (local.get $c) (i32.const 47)))
            (then (return (i32.const 0))))
          (local.set $p (i32.add (local.get $p) (i32.const 1)))
          (br $name)))
      (local.set $al (i32.sub (local.get $p) (local.get $a)))
      (loop $blank
        (if (i32.ge_u (local.get $p) (local.get $end)) (then (return (i32.const 0))))
        (if (call $is_space (i32.load8_u (local.get $p)))
          (then (local.set $p (i32.add (local.get $p) (i32.const 1))) (br $blank))))
      (if (i32.ne (i32.load8_u (local.get $p)) (i32.const 61)) (then (return (i32.const 0))))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (loop $blank
        (if (i32.ge_u (local.get $p) (local.get $end)) (then (return (i32.const 0))))
        (if (call $is_space (i32.load8_u (local.get $p)))
          (then (local.set $p (i32.add (local.get $p) (i32.const 1))) (br $blank))))
      ;; quoted value, ' or "
      (local.set $q (i32.load8_u (local.get $p)))
      (if (i32.and (i32.ne (local.get $q) (i32.const 34)) (i32.ne (local.get $q) (i32.const 39)))
        (then (return (i32.const 0))))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (local.set $v (local.get $p))
      (loop $value
        (if (i32.ge_u (local.get $p) (local.get $end)) (then (return (i32.const 0))))
        (if (i32.ne (i32.load8_u (local.get $p)) (local.get $q))
          (then (local.set $p (i32.add (local.get $p) (i32.const 1))) (br $value))))
      ;; "type" and "names" (read with wide loads: no data section for constants)
      (if (i32.and (i32.eq (local.get $al) (i32.const 4))
                   (i32.eq (i32.load (local.get $a)) (i32.const 0x65707974)))
        (then (global.set $tag_type_p (local.get $v))
              (global.set $tag_type_l (i32.sub (local.get $p) (local.get $v)))))
      (if (i32.eq (local.get $al) (i32.const 5))
        (then
          (if (i32.and (i32.eq (i32.load (local.get $a)) (i32.const 0x656d616e))
                       (i32.eq (i32.load8_u offset=4 (local.get $a)) (i32.const 115)))
            (then (global.set $tag_names_p (local.get $v))
                  (global.set $tag_names_l (i32.sub (local.get $p) (local.get $v)))))))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (br $attr))
    (i32.const 0))

  ;; The first usable name in a `names` attribute value into FOUND entry $e.
  (func $first_name (param $p i32) (param $l i32) (param $e i32)
    (local $end i32) (local $start i32) (local $clean i32) (local $c i32)
    (local.set $end (i32.add (local.get $p) (local.get $l)))
    (block $none
      (loop $each
        (br_if $none (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $start (local.get $p))
        (local.set $clean (i32.const 1))
        (block $sep
          (loop $char
            (br_if $sep (i32.ge_u (local.get $p) (local.get $end)))
            (local.set $c (i32.load8_u (local.get $p)))
            (br_if $sep (i32.eq (local.get $c) (i32.const 44)))
            (if (i32.or (i32.eq (local.get $c) (i32.const 92)) (i32.eq (local.get $c) (i32.const 38)))
              (then
                (local.set $clean (i32.const 0))
                ;; '\' escapes the next byte (a ',' inside a name)
                (if (i32.eq (local.get $c) (i32.const 92))
                  (then (local.set $p (i32.add (local.get $p) (i32.const 1)))))))
            (local.set $p (i32.add (local.get $p) (i32.const 1)))
            (br $char)))
        (if (i32.and (local.get $clean) (i32.gt_u (local.get $p) (local.get $start)))
          (then
            (i32.store (local.get $e) (local.get $start))
            (i32.store offset=4 (local.get $e)
              (i32.sub (select (local.get $end) (local.get $p)
                               (i32.gt_u (local.get $p) (local.get $end)))
                       (local.get $start)))
            (return)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $each)))
    (i32.store offset=4 (local.get $e) (i32.const 0)))

  (func $xml_inputs (param $buf i32) (param $len i32) (result i32)
    (local $p i32) (local $end i32) (local $depth i32) (local $n i32) (local $slot i32)
    (local $next i32) (local $param i32)
    (local.set $p (local.get $buf))
    (local.set $end (i32.add (local.get $buf) (local.get $len)))
    (local.set $slot (i32.const -1))
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (if (i32.ne (i32.load8_u (local.get $p)) (i32.const 60))
          (then (local.set $p (i32.add (local.get $p) (i32.const 1))) (br $each)))
        (local.set $next (i32.add (local.get $p) (i32.const 1)))
        (if (i32.ge_u (i32.add (local.get $p) (i32.const 8)) (local.get $end))
          (then (br $done)))
        ;; "</layer>"
        (if (i64.eq (i64.load (local.get $p)) (i64.const 0x3e726579616c2f3c))
          (then
            (if (local.get $depth)
              (then (local.set $depth (i32.sub (local.get $depth) (i32.const 1)))))
            (if (i32.eqz (local.get $depth)) (then (local.set $slot (i32.const -1))))
            (local.set $next (i32.add (local.get $p) (i32.const 8)))))
        ;; "<layer" + blank
        (if (i32.and (i32.and (i32.eq (i32.load (local.get $p)) (i32.const 0x79616c3c))
                              (i32.eq (i32.load16_u offset=4 (local.get $p)) (i32.const 0x7265)))
                     (call $is_space (i32.load8_u offset=6 (local.get $p))))
          (then
            (local.set $next (call $xml_tag (i32.add (local.get $p) (i32.const 6)) (local.get $end)))
            (if (i32.eqz (local.get $next)) (then (return (i32.const -1))))
            ;; type == "Parameter"
            (local.set $param
              (i32.and (i32.eq (global.get $tag_type_l) (i32.const 9))
                       (i32.and (i64.eq (i64.load (global.get $tag_type_p))
                                        (i64.const 0x6574656d61726150))
                                (i32.eq (i32.load8_u offset=8 (global.get $tag_type_p))
                                        (i32.const 114)))))
            (if (i32.and (local.get $param) (i32.eqz (local.get $depth)))
              (then
                (if (i32.ge_u (local.get $n) (global.get $MAX_IO)) (then (br $done)))
                (local.set $slot (i32.add (i32.add (global.get $base) (i32.const 144384))
                                          (i32.shl (local.get $n) (i32.const 3))))
                (i32.store offset=4 (local.get $slot) (i32.const 0))
                (local.set $n (i32.add (local.get $n) (i32.const 1)))
                ;; "<layer .../>" has no port to wait for
                (if (global.get $tag_self) (then (local.set $slot (i32.const -1))))))
            (if (i32.eqz (global.get $tag_self))
              (then (local.set $depth (i32.add (local.get $depth) (i32.const 1)))))))
        ;; "<port" + blank: the first port of a top-level Parameter is its output
        (if (i32.and (i32.and (i32.eq (i32.load (local.get $p)) (i32.const 0x726f703c))
                              (i32.eq (i32.load8_u offset=4 (local.get $p)) (i32.const 116)))
                     (call $is_space (i32.load8_u offset=5 (local.get $p))))
          (then
            (local.set $next (call $xml_tag (i32.add (local.get $p) (i32.const 5)) (local.get $end)))
            (if (i32.eqz (local.get $next)) (then (return (i32.const -1))))
            (if (i32.and (i32.ne (local.get $slot) (i32.const -1))
                         (i32.eq (local.get $depth) (i32.const 1)))
              (then
                (call $first_name (global.get $tag_names_p) (global.get $tag_names_l)
                                  (local.get $slot))
                (local.set $slot (i32.const -1))))))
        (local.set $p (local.get $next))
        (br $each)))
    (local.get $n))
)
