/* nn_onnxruntime_c.c: nn.h over the ONNX Runtime C API, for the native driver (host native-c).
 *
 * The onnxruntime wheel ships libonnxruntime.so but no header, so the few entries
 * used here are declared from the API's documented layout: OrtGetApiBase() returns
 * {GetApi, GetVersionString}; GetApi(version) returns the OrtApi table, a struct of
 * function pointers that ONNX Runtime only ever appends to (each entry is tagged
 * "\since Version N" in onnxruntime_c_api.h). The positions below were counted in
 * the OrtApi struct of onnxruntime_c_api.h for ORT_API_VERSION 30 (docs/hosts.md:
 * native-c says how they were checked). At start-up the library must report a
 * version >= 1.30 and serve API version 30, else every call fails with those words.
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

/* -- the declared part of the C API -------------------------------------------------- */

#define ORT_API_VERSION_USED 30 /* the header the positions were counted in */
#define ORT_MIN_MINOR 30        /* onnxruntime 1.30 is the first with that table */

typedef struct OrtStatus OrtStatus;
typedef struct OrtEnv OrtEnv;
typedef struct OrtSession OrtSession;
typedef struct OrtSessionOptions OrtSessionOptions;
typedef struct OrtValue OrtValue;
typedef struct OrtMemoryInfo OrtMemoryInfo;
typedef struct OrtAllocator OrtAllocator;
typedef struct OrtTensorTypeAndShapeInfo OrtTensorTypeAndShapeInfo;

typedef struct {
    const void *(*GetApi)(uint32_t version);
    const char *(*GetVersionString)(void);
} OrtApiBase;
extern const OrtApiBase *OrtGetApiBase(void);

/* OrtApi positions (0-based, in declaration order). */
enum {
    ORT_GetErrorMessage = 2,
    ORT_CreateEnv = 3,
    ORT_CreateSession = 7,
    ORT_CreateSessionFromArray = 8,
    ORT_Run = 9,
    ORT_CreateSessionOptions = 10,
    ORT_SetSessionExecutionMode = 13,
    ORT_SetSessionLogSeverityLevel = 22,
    ORT_SetIntraOpNumThreads = 24,
    ORT_SetInterOpNumThreads = 25,
    ORT_SessionGetInputCount = 30,
    ORT_SessionGetOutputCount = 31,
    ORT_SessionGetInputName = 36,
    ORT_SessionGetOutputName = 37,
    ORT_CreateTensorWithDataAsOrtValue = 49,
    ORT_GetTensorMutableData = 51,
    ORT_GetTensorElementType = 60,
    ORT_GetTensorShapeElementCount = 64,
    ORT_GetTensorTypeAndShape = 65,
    ORT_CreateCpuMemoryInfo = 69,
    ORT_GetAllocatorWithDefaultOptions = 78,
    ORT_ReleaseStatus = 93,
    ORT_ReleaseValue = 96,
    ORT_ReleaseTensorTypeAndShapeInfo = 99,
    ORT_ReleaseSessionOptions = 100,
};

/* The entries used, with their documented signatures. */
static struct {
    const char *(*GetErrorMessage)(const OrtStatus *);
    OrtStatus *(*CreateEnv)(int level, const char *logid, OrtEnv **);
    OrtStatus *(*CreateSession)(const OrtEnv *, const char *path, const OrtSessionOptions *,
                                OrtSession **);
    OrtStatus *(*CreateSessionFromArray)(const OrtEnv *, const void *, size_t,
                                         const OrtSessionOptions *, OrtSession **);
    OrtStatus *(*Run)(OrtSession *, const void *run_options, const char *const *input_names,
                      const OrtValue *const *inputs, size_t ninputs,
                      const char *const *output_names, size_t noutputs, OrtValue **outputs);
    OrtStatus *(*CreateSessionOptions)(OrtSessionOptions **);
    OrtStatus *(*SetSessionExecutionMode)(OrtSessionOptions *, int mode);
    OrtStatus *(*SetSessionLogSeverityLevel)(OrtSessionOptions *, int level);
    OrtStatus *(*SetIntraOpNumThreads)(OrtSessionOptions *, int);
    OrtStatus *(*SetInterOpNumThreads)(OrtSessionOptions *, int);
    OrtStatus *(*SessionGetInputCount)(const OrtSession *, size_t *);
    OrtStatus *(*SessionGetOutputCount)(const OrtSession *, size_t *);
    OrtStatus *(*SessionGetInputName)(const OrtSession *, size_t, OrtAllocator *, char **);
    OrtStatus *(*SessionGetOutputName)(const OrtSession *, size_t, OrtAllocator *, char **);
    OrtStatus *(*CreateTensorWithDataAsOrtValue)(const OrtMemoryInfo *, void *data, size_t len,
                                                 const int64_t *shape, size_t rank, int type,
                                                 OrtValue **);
    OrtStatus *(*GetTensorMutableData)(OrtValue *, void **);
    OrtStatus *(*GetTensorElementType)(const OrtTensorTypeAndShapeInfo *, int *);
    OrtStatus *(*GetTensorShapeElementCount)(const OrtTensorTypeAndShapeInfo *, size_t *);
    OrtStatus *(*GetTensorTypeAndShape)(const OrtValue *, OrtTensorTypeAndShapeInfo **);
    OrtStatus *(*CreateCpuMemoryInfo)(int allocator_type, int mem_type, OrtMemoryInfo **);
    OrtStatus *(*GetAllocatorWithDefaultOptions)(OrtAllocator **);
    void (*ReleaseStatus)(OrtStatus *);
    void (*ReleaseValue)(OrtValue *);
    void (*ReleaseTensorTypeAndShapeInfo)(OrtTensorTypeAndShapeInfo *);
    void (*ReleaseSessionOptions)(OrtSessionOptions *);
} ort;

/* enum values from onnxruntime_c_api.h */
enum { ORT_LOGGING_LEVEL_ERROR = 3, ORT_SEQUENTIAL = 0, ORT_ARENA_ALLOCATOR = 1, ORT_MEM_DEFAULT = 0 };
enum {
    ONNX_FLOAT = 1, ONNX_UINT8 = 2, ONNX_INT8 = 3, ONNX_UINT16 = 4, ONNX_INT16 = 5,
    ONNX_INT32 = 6, ONNX_INT64 = 7, ONNX_BOOL = 9, ONNX_FLOAT16 = 10, ONNX_DOUBLE = 11,
    ONNX_UINT32 = 12, ONNX_UINT64 = 13, ONNX_BFLOAT16 = 16,
};

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

/* entry N of the table: the N-th pointer-sized slot */
#define BIND(table, name) \
    memcpy(&ort.name, (const char *)(table) + ORT_##name * sizeof(void *), sizeof ort.name)

/* Check the library's version, take the table, create the environment (once). */
static int bind_api(void) {
    if (bind_errno >= 0) return bind_errno;
    bind_errno = NN_E_RUNTIME_ERROR;
    const OrtApiBase *base = OrtGetApiBase();
    if (!base) return fail(bind_errno, "OrtGetApiBase returned NULL");
    const char *v = base->GetVersionString();
    unsigned major = 0, minor = 0;
    if (!v || sscanf(v, "%u.%u", &major, &minor) != 2 || major != 1 || minor < ORT_MIN_MINOR) {
        snprintf(error_text, sizeof error_text,
                 "onnxruntime %s: the OrtApi positions here are for 1.%d or newer", v ? v : "?",
                 ORT_MIN_MINOR);
        return bind_errno;
    }
    const void *table = base->GetApi(ORT_API_VERSION_USED);
    if (!table) {
        snprintf(error_text, sizeof error_text, "onnxruntime %s: GetApi(%d) returned NULL", v,
                 ORT_API_VERSION_USED);
        return bind_errno;
    }
    BIND(table, GetErrorMessage);
    BIND(table, CreateEnv);
    BIND(table, CreateSession);
    BIND(table, CreateSessionFromArray);
    BIND(table, Run);
    BIND(table, CreateSessionOptions);
    BIND(table, SetSessionExecutionMode);
    BIND(table, SetSessionLogSeverityLevel);
    BIND(table, SetIntraOpNumThreads);
    BIND(table, SetInterOpNumThreads);
    BIND(table, SessionGetInputCount);
    BIND(table, SessionGetOutputCount);
    BIND(table, SessionGetInputName);
    BIND(table, SessionGetOutputName);
    BIND(table, CreateTensorWithDataAsOrtValue);
    BIND(table, GetTensorMutableData);
    BIND(table, GetTensorElementType);
    BIND(table, GetTensorShapeElementCount);
    BIND(table, GetTensorTypeAndShape);
    BIND(table, CreateCpuMemoryInfo);
    BIND(table, GetAllocatorWithDefaultOptions);
    BIND(table, ReleaseStatus);
    BIND(table, ReleaseValue);
    BIND(table, ReleaseTensorTypeAndShapeInfo);
    BIND(table, ReleaseSessionOptions);
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
