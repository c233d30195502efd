/* nn_preview1.c: nn.h over the legacy witx ABI (module "wasi_ephemeral_nn").
 * All parameters are i32 and every import returns the errno directly. */
#include <stddef.h>

#include "nn.h"

#define NN_IMPORT(name) __attribute__((import_module("wasi_ephemeral_nn"), import_name(name)))

/* The witx `tensor` record: 20 bytes, type padded to 4. */
typedef struct {
    uint32_t dims_ptr;
    uint32_t dims_len;
    uint8_t type;
    uint32_t data_ptr;
    uint32_t data_len;
} witx_tensor;
_Static_assert(sizeof(witx_tensor) == 20, "witx tensor is 20 bytes");
_Static_assert(offsetof(witx_tensor, type) == 8, "type at +8");
_Static_assert(offsetof(witx_tensor, data_ptr) == 12, "data at +12");
/* nn_bytes is the witx graph_builder {ptr, len}: pass the array as is. */
_Static_assert(sizeof(nn_bytes) == 8, "graph_builder is 8 bytes");

NN_IMPORT("load")
int32_t wasi_nn_load(int32_t builders, int32_t n, int32_t encoding, int32_t target,
                     int32_t out_graph);
NN_IMPORT("load_by_name")
int32_t wasi_nn_load_by_name(int32_t name, int32_t len, int32_t out_graph);
NN_IMPORT("init_execution_context")
int32_t wasi_nn_init_execution_context(int32_t graph, int32_t out_ctx);
NN_IMPORT("set_input")
int32_t wasi_nn_set_input(int32_t ctx, int32_t index, int32_t tensor);
NN_IMPORT("compute")
int32_t wasi_nn_compute(int32_t ctx);
NN_IMPORT("get_output")
int32_t wasi_nn_get_output(int32_t ctx, int32_t index, int32_t out, int32_t max,
                           int32_t out_written);

/* Experimental, only our wasmtime-py host defines it (docs/properties.md). */
NN_IMPORT("properties")
int32_t wasi_nn_properties(int32_t encoding, int32_t target, int32_t buf, int32_t max,
                           int32_t out_written);

#define P(x) ((int32_t)(uintptr_t)(x))

int nn_load(const nn_bytes *builders, uint32_t n, uint8_t encoding, uint8_t target,
            uint32_t *graph) {
    return wasi_nn_load(P(builders), (int32_t)n, encoding, target, P(graph));
}

int nn_load_by_name(const char *name, uint32_t len, uint32_t *graph) {
    return wasi_nn_load_by_name(P(name), (int32_t)len, P(graph));
}

int nn_init_execution_context(uint32_t graph, uint32_t *ctx) {
    return wasi_nn_init_execution_context((int32_t)graph, P(ctx));
}

int nn_set_input(uint32_t ctx, uint32_t index, const char *name, const nn_tensor *t) {
    (void)name; /* the witx ABI only knows positions */
    witx_tensor w = {P(t->dims), t->ndims, t->type, P(t->data), t->len};
    return wasi_nn_set_input((int32_t)ctx, (int32_t)index, P(&w));
}

int nn_compute(uint32_t ctx) { return wasi_nn_compute((int32_t)ctx); }

int nn_get_output(uint32_t ctx, uint32_t index, const char *name, uint8_t *buf, uint32_t max,
                  uint32_t *written) {
    (void)name;
    return wasi_nn_get_output((int32_t)ctx, (int32_t)index, P(buf), (int32_t)max, P(written));
}

int nn_properties(uint8_t encoding, uint8_t target, uint8_t *buf, uint32_t max,
                  uint32_t *written) {
    return wasi_nn_properties(encoding, target, P(buf), (int32_t)max, P(written));
}

const char *nn_error_message(void) { return ""; }
