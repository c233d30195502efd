/* ort_c_api.h: the part of the ONNX Runtime C API that nn_onnxruntime_c.c (and
 * microbenchmarks/native_c/ort_loop.c) use, declared from the API's documented layout.
 *
 * The onnxruntime wheel ships libonnxruntime.so but no header. OrtGetApiBase()
 * returns {GetApi, GetVersionString}; GetApi(version) returns the OrtApi table, a
 * struct of function pointers that ONNX Runtime only ever appends to (each entry is
 * tagged "\since Version N" in onnxruntime_c_api.h). The positions below were counted
 * in the OrtApi struct of onnxruntime_c_api.h for ORT_API_VERSION 30 (docs/hosts.md,
 * native-c, says how they were checked). ort_bind() refuses a library older than 1.30
 * or one whose GetApi(30) is NULL.
 */
#ifndef ORT_C_API_H
#define ORT_C_API_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

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
typedef struct {
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
} ort_api;

/* enum values from onnxruntime_c_api.h */
enum { ORT_LOGGING_LEVEL_ERROR = 3, ORT_SEQUENTIAL = 0, ORT_ARENA_ALLOCATOR = 1, ORT_MEM_DEFAULT = 0 };
enum {
    ONNX_FLOAT = 1, ONNX_UINT8 = 2, ONNX_INT8 = 3, ONNX_UINT16 = 4, ONNX_INT16 = 5,
    ONNX_INT32 = 6, ONNX_INT64 = 7, ONNX_BOOL = 9, ONNX_FLOAT16 = 10, ONNX_DOUBLE = 11,
    ONNX_UINT32 = 12, ONNX_UINT64 = 13, ONNX_BFLOAT16 = 16,
};

/* entry N of the table: the N-th pointer-sized slot */
#define BIND(table, name) \
    memcpy(&ort->name, (const char *)(table) + ORT_##name * sizeof(void *), sizeof ort->name)

/* Check the library's version and fill *ort from its table. Returns the version
 * string, or NULL with the reason in err. */
static inline const char *ort_bind(ort_api *ort, char *err, size_t errlen) {
    const OrtApiBase *base = OrtGetApiBase();
    if (!base) {
        snprintf(err, errlen, "OrtGetApiBase returned NULL");
        return NULL;
    }
    const char *v = base->GetVersionString();
    unsigned major = 0, minor = 0;
    if (!v || sscanf(v, "%u.%u", &major, &minor) != 2 || major != 1 || minor < ORT_MIN_MINOR) {
        snprintf(err, errlen, "onnxruntime %s: the OrtApi positions here are for 1.%d or newer",
                 v ? v : "?", ORT_MIN_MINOR);
        return NULL;
    }
    const void *table = base->GetApi(ORT_API_VERSION_USED);
    if (!table) {
        snprintf(err, errlen, "onnxruntime %s: GetApi(%d) returned NULL", v, ORT_API_VERSION_USED);
        return NULL;
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
    return v;
}
#undef BIND

#endif
