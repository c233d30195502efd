/* nn_component.c: nn.h over wasi:nn@0.2.0-rc-2024-10-28 (world `ml`), by hand.
 *
 * A hand-written canonical-ABI binding (no wit-bindgen): the imports below are
 * the core functions a component's `canon lower` produces for the WIT in
 * ../wit/wasi-nn.wit. docs/component.md explains the mapping; in short:
 *   - resources are i32 handles; own<> handles passed to the host are moved;
 *   - a result<..> or a list/string return comes back through a return pointer
 *     the guest provides (tag u8 at +0, payload at +4);
 *   - lists the host returns are allocated in our memory through the exported
 *     `cabi_realloc`, and are ours to free;
 *   - WIT numbering (tensor-type, graph-encoding, error-code) differs from the
 *     witx numbering nn.h speaks: the tables below translate.
 * The WIT has no set-input/get-output: set_input creates a tensor resource and
 * buffers it per context, compute sends all buffered inputs by name and keeps
 * the named outputs, get_output serves them by name, falling back to position.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn.h"

#define NN_VERSION "0.2.0-rc-2024-10-28"
#define IMPORT(iface, fn) \
    __attribute__((import_module("wasi:nn/" iface "@" NN_VERSION), import_name(fn)))

/* ---- the WIT's core imports ---------------------------------------------- */

/* Return area of result<own<R>, own<error>>. */
typedef struct {
    uint8_t is_err;
    uint32_t handle; /* graph / context on ok, error on err */
} result_handle;

typedef struct {
    const char *ptr;
    uint32_t len;
} wit_string;

typedef struct {
    uint8_t *ptr;
    uint32_t len;
} wit_bytes;

/* named-tensor = tuple<string, own<tensor>>: 12 bytes */
typedef struct {
    wit_string name;
    uint32_t tensor;
} named_tensor;

/* Return area of result<list<named-tensor>, own<error>>. */
typedef struct {
    uint8_t is_err;
    union {
        struct {
            named_tensor *ptr;
            uint32_t len;
        } list;
        uint32_t error;
    } u;
} result_list;

_Static_assert(sizeof(result_handle) == 8, "result<own, own> is 8 bytes");
_Static_assert(sizeof(result_list) == 12, "result<list, own> is 12 bytes");
_Static_assert(sizeof(named_tensor) == 12, "tuple<string, own> is 12 bytes");
_Static_assert(sizeof(nn_bytes) == 8, "nn_bytes matches list<u8> {ptr, len}");

IMPORT("tensor", "[constructor]tensor")
uint32_t wit_tensor_new(const uint32_t *dims, uint32_t ndims, uint32_t ty, const uint8_t *data,
                        uint32_t len);
IMPORT("tensor", "[method]tensor.data") void wit_tensor_data(uint32_t self, wit_bytes *ret);
IMPORT("tensor", "[resource-drop]tensor") void wit_tensor_drop(uint32_t self);

IMPORT("graph", "load")
void wit_load(const nn_bytes *builders, uint32_t n, uint32_t encoding, uint32_t target,
              result_handle *ret);
IMPORT("graph", "load-by-name")
void wit_load_by_name(const char *name, uint32_t len, result_handle *ret);
IMPORT("graph", "[method]graph.init-execution-context")
void wit_init_execution_context(uint32_t graph, result_handle *ret);
IMPORT("graph", "[resource-drop]graph") void wit_graph_drop(uint32_t self);

IMPORT("inference", "[method]graph-execution-context.compute")
void wit_compute(uint32_t ctx, const named_tensor *inputs, uint32_t n, result_list *ret);
IMPORT("inference", "[resource-drop]graph-execution-context") void wit_context_drop(uint32_t self);

IMPORT("errors", "[method]error.code") uint32_t wit_error_code(uint32_t self);
IMPORT("errors", "[method]error.data") void wit_error_data(uint32_t self, wit_string *ret);
IMPORT("errors", "[resource-drop]error") void wit_error_drop(uint32_t self);

/* ---- cabi_realloc -------------------------------------------------------- */

/* get_output points this at the caller's buffer so that the host lowers the
 * next list<u8> straight into it (saves a copy); any other allocation mallocs. */
static uint8_t *landing;
static uint32_t landing_max;

__attribute__((export_name("cabi_realloc"))) void *cabi_realloc(void *old, size_t old_size,
                                                                size_t align, size_t new_size) {
    (void)old_size;
    if (!old && landing && align == 1 && new_size <= landing_max) {
        void *p = landing;
        landing = NULL;
        return p;
    }
    if (new_size == 0) return (void *)align; /* any non-null aligned pointer */
    void *p = realloc(old, new_size);        /* malloc aligns to 16 */
    if (!p) abort();
    return p;
}

/* ---- numbering ------------------------------------------------------------ */

static const char *const WIT_ERRORS[] = {
    "invalid-argument", "invalid-encoding", "timeout", "runtime-error", "unsupported-operation",
    "too-large",        "not-found",        "security", "unknown",
};
/* WIT error-code -> witx errno; witx has no timeout/security/unknown. */
static const int WIT_TO_ERRNO[] = {
    NN_E_INVALID_ARGUMENT, NN_E_INVALID_ENCODING, NN_E_RUNTIME_ERROR,
    NN_E_RUNTIME_ERROR,    NN_E_UNSUPPORTED_OPERATION, NN_E_TOO_LARGE,
    NN_E_NOT_FOUND,        NN_E_RUNTIME_ERROR,    NN_E_RUNTIME_ERROR,
};
/* witx tensor_type -> WIT tensor-type (WIT inserts BF16 at 3) */
static const uint8_t TYPE_TO_WIT[] = {0, 1, 2, 4, 5, 6};
/* witx graph_encoding -> WIT graph-encoding (WIT inserts ggml at 5) */
static const uint8_t ENCODING_TO_WIT[] = {0, 1, 2, 3, 4, 6};

/* ---- errors --------------------------------------------------------------- */

static char message[1024];

const char *nn_error_message(void) { return message; }

/* Read code and data of an error resource, drop it, return the witx errno. */
static int take_error(uint32_t err) {
    uint32_t code = wit_error_code(err);
    wit_string data = {0, 0};
    wit_error_data(err, &data);
    wit_error_drop(err);
    const char *name = code < sizeof WIT_ERRORS / sizeof *WIT_ERRORS ? WIT_ERRORS[code] : "?";
    snprintf(message, sizeof message, "%s: %.*s", name, (int)data.len, data.ptr ? data.ptr : "");
    if (data.len) free((void *)data.ptr);
    return code < sizeof WIT_TO_ERRNO / sizeof *WIT_TO_ERRNO ? WIT_TO_ERRNO[code]
                                                             : NN_E_RUNTIME_ERROR;
}

static int fail(int errno_value, const char *why) {
    snprintf(message, sizeof message, "%s", why);
    return errno_value;
}

/* ---- handle bookkeeping (dropped at exit) --------------------------------- */

#define MAX_GRAPHS 16
#define MAX_CONTEXTS 16
#define MAX_INPUTS 64

typedef struct {
    uint32_t handle;
    int used;
    uint32_t ninputs; /* buffered inputs, moved to the host by compute */
    char *input_names[MAX_INPUTS];
    uint32_t input_tensors[MAX_INPUTS];
    named_tensor *outputs; /* the last compute's list (host-allocated) */
    uint32_t noutputs;
} context_state;

static uint32_t graphs[MAX_GRAPHS];
static uint32_t ngraphs;
static context_state contexts[MAX_CONTEXTS];
static int cleanup_registered;

static void free_outputs(context_state *c) {
    for (uint32_t i = 0; i < c->noutputs; i++) {
        wit_tensor_drop(c->outputs[i].tensor);
        if (c->outputs[i].name.len) free((void *)c->outputs[i].name.ptr);
    }
    if (c->noutputs) free(c->outputs);
    c->outputs = NULL;
    c->noutputs = 0;
}

static void free_inputs(context_state *c, int drop_tensors) {
    for (uint32_t i = 0; i < c->ninputs; i++) {
        if (drop_tensors) wit_tensor_drop(c->input_tensors[i]);
        free(c->input_names[i]);
    }
    c->ninputs = 0;
}

/* Give every handle back before exit so that a host sees its tables empty. */
static void drop_all(void) {
    for (int i = 0; i < MAX_CONTEXTS; i++) {
        context_state *c = &contexts[i];
        if (!c->used) continue;
        free_inputs(c, 1);
        free_outputs(c);
        wit_context_drop(c->handle);
        c->used = 0;
    }
    for (uint32_t i = 0; i < ngraphs; i++) wit_graph_drop(graphs[i]);
    ngraphs = 0;
}

static int remember_graph(uint32_t graph) {
    if (!cleanup_registered) {
        atexit(drop_all);
        cleanup_registered = 1;
    }
    if (ngraphs == MAX_GRAPHS) {
        wit_graph_drop(graph);
        return fail(NN_E_TOO_LARGE, "driver: too many graphs");
    }
    graphs[ngraphs++] = graph;
    return NN_E_SUCCESS;
}

static context_state *find_context(uint32_t handle) {
    for (int i = 0; i < MAX_CONTEXTS; i++)
        if (contexts[i].used && contexts[i].handle == handle) return &contexts[i];
    return NULL;
}

/* ---- nn.h ------------------------------------------------------------------ */

int nn_load(const nn_bytes *builders, uint32_t n, uint8_t encoding, uint8_t target,
            uint32_t *graph) {
    if (encoding >= sizeof ENCODING_TO_WIT) return fail(NN_E_INVALID_ENCODING, "bad encoding");
    if (target > NN_TARGET_TPU) return fail(NN_E_INVALID_ARGUMENT, "bad target");
    result_handle r;
    wit_load(builders, n, ENCODING_TO_WIT[encoding], target, &r);
    if (r.is_err) return take_error(r.handle);
    *graph = r.handle;
    return remember_graph(r.handle);
}

int nn_load_by_name(const char *name, uint32_t len, uint32_t *graph) {
    result_handle r;
    wit_load_by_name(name, len, &r);
    if (r.is_err) return take_error(r.handle);
    *graph = r.handle;
    return remember_graph(r.handle);
}

int nn_init_execution_context(uint32_t graph, uint32_t *ctx) {
    context_state *slot = NULL;
    for (int i = 0; i < MAX_CONTEXTS && !slot; i++)
        if (!contexts[i].used) slot = &contexts[i];
    if (!slot) return fail(NN_E_TOO_LARGE, "driver: too many execution contexts");
    result_handle r;
    wit_init_execution_context(graph, &r);
    if (r.is_err) return take_error(r.handle);
    memset(slot, 0, sizeof *slot);
    slot->used = 1;
    slot->handle = r.handle;
    *ctx = r.handle;
    return NN_E_SUCCESS;
}

int nn_set_input(uint32_t ctx, uint32_t index, const char *name, const nn_tensor *t) {
    context_state *c = find_context(ctx);
    if (!c) return fail(NN_E_INVALID_ARGUMENT, "driver: unknown execution context");
    if (t->type >= sizeof TYPE_TO_WIT) return fail(NN_E_INVALID_ARGUMENT, "bad tensor type");
    char decimal[12];
    if (!name || !*name) { /* no name: "N" means position N (docs/adapter.md) */
        snprintf(decimal, sizeof decimal, "%u", index);
        name = decimal;
    }
    uint32_t slot = c->ninputs;
    for (uint32_t i = 0; i < c->ninputs; i++)
        if (strcmp(c->input_names[i], name) == 0) slot = i;
    if (slot == MAX_INPUTS) return fail(NN_E_TOO_LARGE, "driver: too many inputs");
    /* The tensor resource is created (and the data copied to the host) now. */
    uint32_t tensor = wit_tensor_new(t->dims, t->ndims, TYPE_TO_WIT[t->type], t->data, t->len);
    if (slot < c->ninputs) {
        wit_tensor_drop(c->input_tensors[slot]); /* set twice: the last one wins */
    } else {
        c->input_names[slot] = strdup(name);
        if (!c->input_names[slot]) abort();
        c->ninputs++;
    }
    c->input_tensors[slot] = tensor;
    return NN_E_SUCCESS;
}

int nn_compute(uint32_t ctx) {
    context_state *c = find_context(ctx);
    if (!c) return fail(NN_E_INVALID_ARGUMENT, "driver: unknown execution context");
    free_outputs(c);
    named_tensor inputs[MAX_INPUTS];
    for (uint32_t i = 0; i < c->ninputs; i++) {
        inputs[i].name.ptr = c->input_names[i];
        inputs[i].name.len = (uint32_t)strlen(c->input_names[i]);
        inputs[i].tensor = c->input_tensors[i];
    }
    result_list r;
    wit_compute(ctx, inputs, c->ninputs, &r);
    free_inputs(c, 0); /* own<tensor> handles moved to the host, even on error */
    if (r.is_err) return take_error(r.u.error);
    c->outputs = r.u.list.ptr;
    c->noutputs = r.u.list.len;
    return NN_E_SUCCESS;
}

int nn_get_output(uint32_t ctx, uint32_t index, const char *name, uint8_t *buf, uint32_t max,
                  uint32_t *written) {
    context_state *c = find_context(ctx);
    if (!c) return fail(NN_E_INVALID_ARGUMENT, "driver: unknown execution context");
    const named_tensor *out = NULL;
    size_t want = name ? strlen(name) : 0;
    for (uint32_t i = 0; i < c->noutputs && !out; i++)
        if (want && c->outputs[i].name.len == want &&
            memcmp(c->outputs[i].name.ptr, name, want) == 0)
            out = &c->outputs[i];
    if (!out && index < c->noutputs) out = &c->outputs[index]; /* by position */
    if (!out) {
        snprintf(message, sizeof message, "driver: no output %s (index %u) among %u outputs",
                 name ? name : "", index, c->noutputs);
        return NN_E_NOT_FOUND;
    }
    landing = buf;
    landing_max = max;
    wit_bytes data = {0, 0};
    wit_tensor_data(out->tensor, &data);
    landing = NULL;
    int rc = NN_E_SUCCESS;
    if (data.ptr != buf) { /* did not fit the landing buffer (or empty) */
        if (data.len > max) {
            snprintf(message, sizeof message, "driver: output %u is %u bytes, buffer %u", index,
                     data.len, max);
            rc = NN_E_TOO_LARGE;
        } else if (data.len) {
            memcpy(buf, data.ptr, data.len);
        }
        if (data.len) free(data.ptr);
    }
    if (rc == NN_E_SUCCESS) *written = data.len;
    return rc;
}

/* wasi:nn has no properties query; ours (wasi-nn-bench:properties/query) is not
 * imported: WIT imports are not optional, so importing it would stop this
 * component from instantiating on hosts without it (docs/properties.md). */
int nn_properties(uint8_t encoding, uint8_t target, uint8_t *buf, uint32_t max,
                  uint32_t *written) {
    (void)encoding, (void)target, (void)buf, (void)max, (void)written;
    return fail(NN_E_UNSUPPORTED_OPERATION, "driver: no properties query in wasi:nn");
}
