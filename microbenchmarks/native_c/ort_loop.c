/* ort_loop.c: the ONNX Runtime C API called directly in a tight loop (no nn.h, no driver).
 *
 * The ONNX Runtime twin of ov_loop.c: per iteration the work the driver's iteration
 * does through nn_onnxruntime_c.c (wrap the input bytes in an OrtValue, Run with fresh
 * outputs, read the output's size and copy it out), one clock read before and after.
 * Entries come from workloads/guests/src/ort_c_api.h; session options as the driver's.
 *
 * usage: ort_loop MODEL.onnx INPUT.bin DIMS(1x64) OUTPUT_BYTES WARMUP ITERATIONS
 * prints one line per measured iteration: its ns
 */
#include <stdlib.h>
#include <time.h>

#include "ort_c_api.h"

static ort_api ort;

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void ok_or_die(OrtStatus *status, const char *call) {
    if (!status) return;
    fprintf(stderr, "ort_loop: %s: %s\n", call, ort.GetErrorMessage(status));
    exit(1);
}

int main(int argc, char **argv) {
    if (argc != 7) {
        fprintf(stderr, "usage: ort_loop MODEL INPUT DIMS OUTPUT_BYTES WARMUP ITERATIONS\n");
        return 2;
    }
    char err[256];
    if (!ort_bind(&ort, err, sizeof err)) {
        fprintf(stderr, "ort_loop: %s\n", err);
        return 1;
    }
    int64_t dims[16];
    size_t rank = 0;
    for (char *p = argv[3]; *p && rank < 16; p++) {
        dims[rank++] = strtoll(p, &p, 10);
        if (*p != 'x') break;
    }
    size_t out_max = strtoull(argv[4], NULL, 10);
    long warmup = atol(argv[5]), iterations = atol(argv[6]);
    FILE *f = fopen(argv[2], "rb");
    if (!f) return 3;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *input = malloc(len), *out = malloc(out_max);
    if (fread(input, 1, len, f) != (size_t)len) return 3;
    fclose(f);

    OrtEnv *env;
    OrtSessionOptions *opts;
    OrtSession *session;
    OrtMemoryInfo *memory;
    OrtAllocator *allocator;
    ok_or_die(ort.CreateEnv(ORT_LOGGING_LEVEL_ERROR, "ort_loop", &env), "CreateEnv");
    ok_or_die(ort.CreateSessionOptions(&opts), "CreateSessionOptions");
    ok_or_die(ort.SetIntraOpNumThreads(opts, 1), "SetIntraOpNumThreads");
    ok_or_die(ort.SetInterOpNumThreads(opts, 1), "SetInterOpNumThreads");
    ok_or_die(ort.SetSessionExecutionMode(opts, ORT_SEQUENTIAL), "SetSessionExecutionMode");
    ok_or_die(ort.CreateSession(env, argv[1], opts, &session), "CreateSession");
    ok_or_die(ort.CreateCpuMemoryInfo(ORT_ARENA_ALLOCATOR, ORT_MEM_DEFAULT, &memory),
              "CreateCpuMemoryInfo");
    ok_or_die(ort.GetAllocatorWithDefaultOptions(&allocator), "GetAllocatorWithDefaultOptions");
    char *in_name, *out_name;
    ok_or_die(ort.SessionGetInputName(session, 0, allocator, &in_name), "SessionGetInputName");
    ok_or_die(ort.SessionGetOutputName(session, 0, allocator, &out_name), "SessionGetOutputName");
    const char *in_names[] = {in_name}, *out_names[] = {out_name};

    uint64_t *samples = malloc(sizeof(uint64_t) * (iterations > 0 ? iterations : 1));
    OrtValue *in_value = NULL, *out_value = NULL;
    for (long it = 0; it < warmup + iterations; it++) {
        uint64_t a = now_ns();
        OrtValue *fresh;
        ok_or_die(ort.CreateTensorWithDataAsOrtValue(memory, input, len, dims, rank, ONNX_FLOAT,
                                                     &fresh),
                  "CreateTensorWithDataAsOrtValue");
        if (in_value) ort.ReleaseValue(in_value);
        in_value = fresh;
        if (out_value) ort.ReleaseValue(out_value);
        out_value = NULL;
        ok_or_die(ort.Run(session, NULL, in_names, (const OrtValue *const *)&in_value, 1, out_names,
                          1, &out_value),
                  "Run");
        OrtTensorTypeAndShapeInfo *info;
        size_t count;
        int type;
        void *data;
        ok_or_die(ort.GetTensorTypeAndShape(out_value, &info), "GetTensorTypeAndShape");
        ok_or_die(ort.GetTensorShapeElementCount(info, &count), "GetTensorShapeElementCount");
        ok_or_die(ort.GetTensorElementType(info, &type), "GetTensorElementType");
        ort.ReleaseTensorTypeAndShapeInfo(info);
        ok_or_die(ort.GetTensorMutableData(out_value, &data), "GetTensorMutableData");
        size_t bytes = count * 4; /* f32 output */
        memcpy(out, data, bytes < out_max ? bytes : out_max);
        uint64_t b = now_ns();
        if (it >= warmup) samples[it - warmup] = b - a;
    }
    for (long i = 0; i < iterations; i++) printf("%llu\n", (unsigned long long)samples[i]);
    return 0;
}
