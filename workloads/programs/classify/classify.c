/* classify: a whole wasi-nn program in the sightglass style (docs/programs.md).
 *
 *   classify [openvino|onnx] [ITERATIONS]      (default: openvino 3)
 *
 * Reads its model and input from the preopened '.': model.xml + model.bin (OpenVINO
 * IR) or model.onnx, and input.bin (1x3x16x16 f32, little-endian). Each iteration is
 * one measured region: bench.start; set_input; compute; bench.end. Then reads the 10
 * class scores and prints the top 3 to stdout (the output the harness compares).
 * Only the raw wasi_ephemeral_nn and bench imports, no project header.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NN(n) __attribute__((import_module("wasi_ephemeral_nn"), import_name(n)))
NN("load") int32_t nn_load(void *builders, uint32_t n, uint32_t enc, uint32_t tgt, uint32_t *g);
NN("init_execution_context") int32_t nn_init(uint32_t g, uint32_t *ctx);
NN("set_input") int32_t nn_set_input(uint32_t ctx, uint32_t index, void *tensor);
NN("compute") int32_t nn_compute(uint32_t ctx);
NN("get_output")
int32_t nn_get_output(uint32_t ctx, uint32_t index, void *buf, uint32_t max, uint32_t *written);

/* the sightglass protocol: the host measures from start to end */
__attribute__((import_module("bench"), import_name("start"))) void bench_start(void);
__attribute__((import_module("bench"), import_name("end"))) void bench_end(void);

#define CLASSES 10
#define TOP 3
enum { ENC_OPENVINO = 0, ENC_ONNX = 1 };

struct builder { uint8_t *ptr; uint32_t len; };
struct tensor { uint32_t *dims; uint32_t ndims; uint8_t type; uint8_t *data; uint32_t len; };

static uint8_t *slurp(const char *path, uint32_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) { perror(path); exit(3); }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = malloc(n ? (size_t)n : 1);
    if (!p || fread(p, 1, (size_t)n, f) != (size_t)n) { perror(path); exit(3); }
    fclose(f);
    *len = (uint32_t)n;
    return p;
}

static void check(int32_t rc, const char *what) {
    if (rc) { fprintf(stderr, "classify: %s failed: errno %d\n", what, rc); exit(4); }
}

int main(int argc, char **argv) {
    const char *encoding = argc > 1 ? argv[1] : "openvino";
    long iterations = argc > 2 ? atol(argv[2]) : 3;
    struct builder b[2];
    uint32_t nb = 0, enc;
    if (strcmp(encoding, "onnx") == 0) {
        enc = ENC_ONNX;
        b[nb].ptr = slurp("model.onnx", &b[nb].len), nb++;
    } else if (strcmp(encoding, "openvino") == 0) {
        enc = ENC_OPENVINO;
        b[nb].ptr = slurp("model.xml", &b[nb].len), nb++;
        b[nb].ptr = slurp("model.bin", &b[nb].len), nb++;
    } else {
        fprintf(stderr, "classify: unknown encoding %s (openvino or onnx)\n", encoding);
        return 2;
    }
    uint32_t in_len;
    uint8_t *input = slurp("input.bin", &in_len);
    if (in_len != 3 * 16 * 16 * 4) { fprintf(stderr, "classify: input.bin size %u\n", in_len); return 2; }

    uint32_t graph, ctx;
    check(nn_load(b, nb, enc, 0 /* cpu */, &graph), "load");
    check(nn_init(graph, &ctx), "init_execution_context");
    uint32_t dims[4] = {1, 3, 16, 16};
    struct tensor t = {dims, 4, 1 /* f32 */, input, in_len};
    float scores[CLASSES];
    for (long i = 0; i < iterations; i++) {
        bench_start();
        check(nn_set_input(ctx, 0, &t), "set_input");
        check(nn_compute(ctx), "compute");
        bench_end();
    }
    uint32_t written = 0;
    check(nn_get_output(ctx, 0, scores, sizeof scores, &written), "get_output");
    if (written != sizeof scores) { fprintf(stderr, "classify: output %u bytes\n", written); return 5; }

    int order[CLASSES];
    for (int i = 0; i < CLASSES; i++) order[i] = i;
    for (int i = 0; i < TOP; i++)  /* selection sort of the top entries, stable on ties */
        for (int j = i + 1; j < CLASSES; j++)
            if (scores[order[j]] > scores[order[i]]) { int k = order[i]; order[i] = order[j]; order[j] = k; }
    for (int i = 0; i < TOP; i++) printf("top%d class %d score %.3f\n", i + 1, order[i], scores[order[i]]);
    return 0;
}
