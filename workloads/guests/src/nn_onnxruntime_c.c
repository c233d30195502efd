/* nn_onnxruntime_c.c: nn.h over the ONNX Runtime C API, for the native driver (host native-c).
 *
 * The wheel has no header: ort_c_api.h declares the entries used, by their position
 * in the OrtApi table, and ort_bind() checks the library's version first.
 *
 * Settings as the Python backend: NN_ORT_THREADS intra-op threads, 1 inter-op
 * thread, sequential execution, log severity error, CPU provider only.
 * set_input wraps the caller's bytes without copying (as onnxruntime's Python
 * binding does with a numpy array); get_output copies into the caller's buffer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn.h"
#include "ort_c_api.h"

static ort_api ort;

/* -- state ---------------------------------------------------------------------------- */

#define MAX_GRAPHS 16
#define MAX_CONTEXTS 16
#define MAX_IO 64

typedef struct {
    OrtSession *session;
    size_t ninputs, noutputs;
    char *input_names[MAX_IO], *output_names[MAX_IO];
} graph_slot;

typedef struct {
    uint32_t graph;
    OrtValue *inputs[MAX_IO];
    OrtValue *outputs[MAX_IO];
    int computed;
} context_slot;

static const char *version; /* GetVersionString(), once the API is bound */
static OrtEnv *env;
static OrtMemoryInfo *cpu_memory;
static OrtAllocator *allocator;
static graph_slot graphs[MAX_GRAPHS];
static uint32_t ngraphs;
static context_slot contexts[MAX_CONTEXTS];
static uint32_t ncontexts;
static char error_text[1024];
static int bind_errno = -1; /* -1: not tried yet */

const char *nn_error_message(void) { return error_text; }

static int fail(int errno_value, const char *why) {
    snprintf(error_text, sizeof error_text, "%s", why);
    return errno_value;
}

/* NULL status = success; else keep ONNX Runtime's words and free the status. */
static int check(OrtStatus *status, const char *call, int errno_value) {
    if (!status) return NN_E_SUCCESS;
    snprintf(error_text, sizeof error_text, "%s: %s", call, ort.GetErrorMessage(status));
    for (char *c = error_text; *c; c++)
        if (*c == '\n' || *c == '\r') *c = ' ';
    ort.ReleaseStatus(status);
    return errno_value;
}

/* Check the library's version, take the table, create the environment (once). */
static int bind_api(void) {
    if (bind_errno >= 0) return bind_errno;
    bind_errno = NN_E_RUNTIME_ERROR;
    const char *v = ort_bind(&ort, error_text, sizeof error_text);
    if (!v) return bind_errno;
    int rc;
    if ((rc = check(ort.CreateEnv(ORT_LOGGING_LEVEL_ERROR, "wasi-nn-driver", &env), "CreateEnv",
                    NN_E_RUNTIME_ERROR)) ||
        (rc = check(ort.CreateCpuMemoryInfo(ORT_ARENA_ALLOCATOR, ORT_MEM_DEFAULT, &cpu_memory),
                    "CreateCpuMemoryInfo", NN_E_RUNTIME_ERROR)) ||
        (rc = check(ort.GetAllocatorWithDefaultOptions(&allocator), "GetAllocatorWithDefaultOptions",
                    NN_E_RUNTIME_ERROR)))
        return rc;
    version = v;
    return bind_errno = NN_E_SUCCESS;
}

static int threads(void) {
    const char *t = getenv("NN_ORT_THREADS");
    int n = t ? atoi(t) : 0;
    return n > 0 ? n : 1;
}

/* Session options as the Python backend's (hosts/backends/onnxruntime_backend.py). */
static int session_options(OrtSessionOptions **opts) {
    int rc;
    if ((rc = check(ort.CreateSessionOptions(opts), "CreateSessionOptions", NN_E_RUNTIME_ERROR)))
        return rc;
    if ((rc = check(ort.SetIntraOpNumThreads(*opts, threads()), "SetIntraOpNumThreads",
                    NN_E_RUNTIME_ERROR)) ||
        (rc = check(ort.SetInterOpNumThreads(*opts, 1), "SetInterOpNumThreads",
                    NN_E_RUNTIME_ERROR)) ||
        (rc = check(ort.SetSessionExecutionMode(*opts, ORT_SEQUENTIAL), "SetSessionExecutionMode",
                    NN_E_RUNTIME_ERROR)) ||
        (rc = check(ort.SetSessionLogSeverityLevel(*opts, ORT_LOGGING_LEVEL_ERROR),
                    "SetSessionLogSeverityLevel", NN_E_RUNTIME_ERROR))) {
        ort.ReleaseSessionOptions(*opts);
        return rc;
    }
    return NN_E_SUCCESS;
}

/* Store a created session (with its input and output names) as a new graph. */
static int add_graph(OrtSession *session, uint32_t *graph) {
    graph_slot *g = &graphs[ngraphs];
    *g = (graph_slot){.session = session};
    int rc;
    if ((rc = check(ort.SessionGetInputCount(session, &g->ninputs), "SessionGetInputCount",
                    NN_E_RUNTIME_ERROR)) ||
        (rc = check(ort.SessionGetOutputCount(session, &g->noutputs), "SessionGetOutputCount",
                    NN_E_RUNTIME_ERROR)))
        return rc;
    if (g->ninputs > MAX_IO || g->noutputs > MAX_IO)
        return fail(NN_E_RUNTIME_ERROR, "the model has more than 64 inputs or outputs");
    for (size_t i = 0; i < g->ninputs; i++)
        if ((rc = check(ort.SessionGetInputName(session, i, allocator, &g->input_names[i]),
                        "SessionGetInputName", NN_E_RUNTIME_ERROR)))
            return rc;
    for (size_t i = 0; i < g->noutputs; i++)
        if ((rc = check(ort.SessionGetOutputName(session, i, allocator, &g->output_names[i]),
                        "SessionGetOutputName", NN_E_RUNTIME_ERROR)))
            return rc;
    *graph = ngraphs++;
    return NN_E_SUCCESS;
}

static int cpu_only(uint8_t target) {
    if (target == NN_TARGET_CPU) return NN_E_SUCCESS;
    return fail(NN_E_UNSUPPORTED_OPERATION,
                "native-c's onnxruntime binding has the CPU execution provider only");
}

int nn_load(const nn_bytes *builders, uint32_t n, uint8_t encoding, uint8_t target,
            uint32_t *graph) {
    int rc = bind_api();
    if (rc) return rc;
    if (encoding != NN_ENC_ONNX) return fail(NN_E_INVALID_ENCODING, "onnxruntime reads only onnx");
    if (n != 1) return fail(NN_E_INVALID_ARGUMENT, "onnx wants 1 builder");
    if ((rc = cpu_only(target))) return rc;
    if (ngraphs == MAX_GRAPHS) return fail(NN_E_BUSY, "too many graphs");
    OrtSessionOptions *opts;
    if ((rc = session_options(&opts))) return rc;
    OrtSession *session = NULL;
    rc = check(ort.CreateSessionFromArray(env, builders[0].data, builders[0].len, opts, &session),
               "CreateSessionFromArray", NN_E_INVALID_ARGUMENT);
    ort.ReleaseSessionOptions(opts);
    return rc ? rc : add_graph(session, graph);
}

int nn_load_by_name(const char *name, uint32_t len, uint32_t *graph) {
    int rc = bind_api();
    if (rc) return rc;
    /* a folder in the CLI's -S nn-graph layout, relative to the working folder */
    char path[600];
    if (len == 0 || len > 512 || memchr(name, 0, len) || name[0] == '/')
        return fail(NN_E_NOT_FOUND, "bad graph name");
    for (uint32_t i = 0; i + 1 < len; i++) /* no ".." component */
        if (name[i] == '.' && name[i + 1] == '.' && (i == 0 || name[i - 1] == '/') &&
            (i + 2 == len || name[i + 2] == '/'))
            return fail(NN_E_NOT_FOUND, "graph name leaves the working folder");
    snprintf(path, sizeof path, "%.*s/model.onnx", (int)len, name);
    FILE *probe = fopen(path, "rb");
    if (!probe) return fail(NN_E_NOT_FOUND, "no model.onnx in the named folder");
    fclose(probe);
    const char *t = getenv("NN_LOAD_BY_NAME_TARGET");
    if ((rc = cpu_only(t && strcmp(t, "gpu") == 0 ? NN_TARGET_GPU : NN_TARGET_CPU))) return rc;
    if (ngraphs == MAX_GRAPHS) return fail(NN_E_BUSY, "too many graphs");
    OrtSessionOptions *opts;
    if ((rc = session_options(&opts))) return rc;
    OrtSession *session = NULL;
    rc = check(ort.CreateSession(env, path, opts, &session), "CreateSession",
               NN_E_INVALID_ARGUMENT);
    ort.ReleaseSessionOptions(opts);
    return rc ? rc : add_graph(session, graph);
}

int nn_init_execution_context(uint32_t graph, uint32_t *ctx) {
    if (graph >= ngraphs) return fail(NN_E_INVALID_ARGUMENT, "bad graph handle");
    if (ncontexts == MAX_CONTEXTS) return fail(NN_E_BUSY, "too many contexts");
    contexts[ncontexts] = (context_slot){.graph = graph};
    *ctx = ncontexts++;
    return NN_E_SUCCESS;
}

/* witx tensor_type -> (ONNX element type, bytes per element) */
static int element_type(uint8_t type, int *onnx, uint32_t *size) {
    switch (type) {
    case NN_F16: *onnx = ONNX_FLOAT16; *size = 2; return 1;
    case NN_F32: *onnx = ONNX_FLOAT; *size = 4; return 1;
    case NN_F64: *onnx = ONNX_DOUBLE; *size = 8; return 1;
    case NN_U8: *onnx = ONNX_UINT8; *size = 1; return 1;
    case NN_I32: *onnx = ONNX_INT32; *size = 4; return 1;
    case NN_I64: *onnx = ONNX_INT64; *size = 8; return 1;
    default: return 0;
    }
}

static size_t element_size(int onnx) {
    switch (onnx) {
    case ONNX_UINT8: case ONNX_INT8: case ONNX_BOOL: return 1;
    case ONNX_UINT16: case ONNX_INT16: case ONNX_FLOAT16: case ONNX_BFLOAT16: return 2;
    case ONNX_FLOAT: case ONNX_INT32: case ONNX_UINT32: return 4;
    case ONNX_INT64: case ONNX_DOUBLE: case ONNX_UINT64: return 8;
    default: return 0;
    }
}

int nn_set_input(uint32_t ctx, uint32_t index, const char *name, const nn_tensor *t) {
    (void)name; /* by position, like the witx ABI */
    if (ctx >= ncontexts) return fail(NN_E_INVALID_ARGUMENT, "bad context handle");
    context_slot *c = &contexts[ctx];
    if (index >= graphs[c->graph].ninputs) return fail(NN_E_INVALID_ARGUMENT, "input index out of range");
    int onnx;
    uint32_t size;
    if (!element_type(t->type, &onnx, &size)) return fail(NN_E_INVALID_ARGUMENT, "bad tensor type");
    if (t->ndims > 16) return fail(NN_E_INVALID_ARGUMENT, "too many dimensions");
    int64_t dims[16];
    uint64_t count = 1;
    for (uint32_t i = 0; i < t->ndims; i++) {
        dims[i] = t->dims[i];
        count *= t->dims[i];
    }
    if (count * size != t->len)
        return fail(NN_E_INVALID_ARGUMENT, "data length is not dims x type size");
    OrtValue *value = NULL;
    int rc = check(ort.CreateTensorWithDataAsOrtValue(cpu_memory, (void *)t->data, t->len, dims,
                                                      t->ndims, onnx, &value),
                   "CreateTensorWithDataAsOrtValue", NN_E_INVALID_ARGUMENT);
    if (rc) return rc;
    if (c->inputs[index]) ort.ReleaseValue(c->inputs[index]);
    c->inputs[index] = value;
    return NN_E_SUCCESS;
}

int nn_compute(uint32_t ctx) {
    if (ctx >= ncontexts) return fail(NN_E_INVALID_ARGUMENT, "bad context handle");
    context_slot *c = &contexts[ctx];
    graph_slot *g = &graphs[c->graph];
    for (size_t i = 0; i < g->ninputs; i++)
        if (!c->inputs[i]) return fail(NN_E_RUNTIME_ERROR, "compute before every input is set");
    /* fresh outputs each run, as the Python backend's session.run(None, ...) */
    for (size_t i = 0; i < g->noutputs; i++) {
        if (c->outputs[i]) ort.ReleaseValue(c->outputs[i]);
        c->outputs[i] = NULL;
    }
    c->computed = 0;
    int rc = check(ort.Run(g->session, NULL, (const char *const *)g->input_names,
                           (const OrtValue *const *)c->inputs, g->ninputs,
                           (const char *const *)g->output_names, g->noutputs, c->outputs),
                   "Run", NN_E_RUNTIME_ERROR);
    if (rc) return rc;
    c->computed = 1;
    return NN_E_SUCCESS;
}

int nn_get_output(uint32_t ctx, uint32_t index, const char *name, uint8_t *buf, uint32_t max,
                  uint32_t *written) {
    (void)name;
    if (ctx >= ncontexts) return fail(NN_E_INVALID_ARGUMENT, "bad context handle");
    context_slot *c = &contexts[ctx];
    if (!c->computed) return fail(NN_E_RUNTIME_ERROR, "get_output before compute");
    if (index >= graphs[c->graph].noutputs)
        return fail(NN_E_INVALID_ARGUMENT, "output index out of range");
    OrtValue *value = c->outputs[index];
    OrtTensorTypeAndShapeInfo *info = NULL;
    size_t count = 0;
    int type = 0, rc;
    if ((rc = check(ort.GetTensorTypeAndShape(value, &info), "GetTensorTypeAndShape",
                    NN_E_RUNTIME_ERROR)))
        return rc;
    rc = check(ort.GetTensorShapeElementCount(info, &count), "GetTensorShapeElementCount",
               NN_E_RUNTIME_ERROR);
    if (!rc)
        rc = check(ort.GetTensorElementType(info, &type), "GetTensorElementType",
                   NN_E_RUNTIME_ERROR);
    ort.ReleaseTensorTypeAndShapeInfo(info);
    if (rc) return rc;
    size_t size = element_size(type);
    if (!size) return fail(NN_E_RUNTIME_ERROR, "output element type has no fixed size");
    size_t bytes = count * size;
    if (bytes > max) return fail(NN_E_TOO_LARGE, "output larger than the buffer");
    void *data = NULL;
    if ((rc = check(ort.GetTensorMutableData(value, &data), "GetTensorMutableData",
                    NN_E_RUNTIME_ERROR)))
        return rc;
    memcpy(buf, data, bytes);
    *written = (uint32_t)bytes;
    return NN_E_SUCCESS;
}

static uint32_t put(uint8_t *buf, uint32_t max, uint32_t at, const char *key, const char *value) {
    size_t k = strlen(key) + 1, v = strlen(value) + 1;
    if (at + k + v <= max) {
        memcpy(buf + at, key, k);
        memcpy(buf + at + k, value, v);
    }
    return at + (uint32_t)(k + v);
}

int nn_properties(uint8_t encoding, uint8_t target, uint8_t *buf, uint32_t max,
                  uint32_t *written) {
    if (encoding != NN_ENC_ONNX) return fail(NN_E_INVALID_ENCODING, "onnxruntime reads only onnx");
    int rc = bind_api();
    if (rc) return rc;
    if ((rc = cpu_only(target))) return rc;
    char n[16];
    snprintf(n, sizeof n, "%d", threads());
    uint32_t at = 0;
    at = put(buf, max, at, "backend", "onnxruntime");
    at = put(buf, max, at, "version", version);
    at = put(buf, max, at, "api", "ONNX Runtime C API (OrtApi version 30 entries), native driver");
    at = put(buf, max, at, "device", "cpu");
    at = put(buf, max, at, "execution_providers", "CPUExecutionProvider");
    at = put(buf, max, at, "threads", n);
    *written = at;
    return at > max ? NN_E_TOO_LARGE : NN_E_SUCCESS;
}
