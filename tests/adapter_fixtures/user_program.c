/* A preview1 wasi-nn program written the way a user outside this project would:
 * raw wasi_ephemeral_nn imports, no project headers. tests/test_adapter.py
 * builds it with zig, adapts it with `wasinn-bench adapt` and compares runs.
 *
 *   user_program ENCODING MODEL... -- NIN NOUT ITERATIONS
 * Input i is a 1x4 f32 tensor {10i, 10i+1, 10i+2, 10i+3}. Every iteration sets
 * all inputs, computes on two contexts (of two graphs) and reads all outputs.
 * Prints the outputs of the last iteration, the checks below, and the memory
 * size (pages) after the first iteration and at the end (a leak grows it).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IMPORT(n) __attribute__((import_module("wasi_ephemeral_nn"), import_name(n)))
IMPORT("load") int32_t nn_load(void *builders, uint32_t n, uint32_t enc, uint32_t tgt, uint32_t *g);
IMPORT("init_execution_context") int32_t nn_init(uint32_t g, uint32_t *ctx);
IMPORT("set_input") int32_t nn_set_input(uint32_t ctx, uint32_t index, void *tensor);
IMPORT("compute") int32_t nn_compute(uint32_t ctx);
IMPORT("get_output")
int32_t nn_get_output(uint32_t ctx, uint32_t index, void *buf, uint32_t max, uint32_t *written);

struct builder { uint8_t *ptr; uint32_t len; };
struct tensor { uint32_t *dims; uint32_t ndims; uint8_t type; uint8_t *data; uint32_t len; };

static uint8_t *slurp(const char *path, uint32_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) { perror(path); exit(3); }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = malloc(n ? n : 1);
    if (fread(p, 1, n, f) != (size_t)n) { perror(path); exit(3); }
    fclose(f);
    *len = (uint32_t)n;
    return p;
}

#define CHECK(call) do { int32_t rc_ = (call); \
    if (rc_) { printf("FAIL %s errno %d\n", #call, rc_); return 4; } } while (0)

int main(int argc, char **argv) {
    if (argc < 6) { fprintf(stderr, "usage: ENCODING MODEL... -- NIN NOUT ITER\n"); return 2; }
    uint32_t enc = (uint32_t)atoi(argv[1]);
    struct builder b[4];
    uint32_t nb = 0;
    int i = 2;
    for (; i < argc && strcmp(argv[i], "--") != 0 && nb < 4; i++) b[nb].ptr = slurp(argv[i], &b[nb].len), nb++;
    uint32_t nin = (uint32_t)atoi(argv[i + 1]), nout = (uint32_t)atoi(argv[i + 2]);
    long iters = atol(argv[i + 3]);

    uint32_t g[2], ctx[2];
    CHECK(nn_load(b, nb, enc, 0, &g[0]));
    CHECK(nn_load(b, nb, enc, 0, &g[1]));
    CHECK(nn_init(g[0], &ctx[0]));
    CHECK(nn_init(g[1], &ctx[1]));
    printf("handles %u %u %u %u\n", g[0], g[1], ctx[0], ctx[1]);
    /* the allocator must cope with the pages the adapters took from under it */
    size_t big_len = 3u << 20;
    uint8_t *big = malloc(big_len);
    if (!big) { printf("FAIL malloc after load\n"); return 4; }
    memset(big, 7, big_len);
    printf("malloc_after_load %d\n", big[big_len - 1]);
    free(big);

    uint32_t dims[2] = {1, 4};
    float in[16][4], out[16][4];
    for (uint32_t k = 0; k < nin; k++)
        for (int j = 0; j < 4; j++) in[k][j] = (float)(10 * k + j);
    unsigned long pages_first = 0;
    for (long it = 0; it < iters; it++) {
        for (int c = 0; c < 2; c++) {
            for (uint32_t k = 0; k < nin; k++) {
                struct tensor t = {dims, 2, 1 /* f32 */, (uint8_t *)in[k], 16};
                CHECK(nn_set_input(ctx[c], k, &t));
            }
            CHECK(nn_compute(ctx[c]));
            for (uint32_t k = 0; k < nout; k++) {
                uint32_t written = 0;
                CHECK(nn_get_output(ctx[c], k, out[k], sizeof out[k], &written));
                if (written != 16) { printf("FAIL written %u\n", written); return 4; }
            }
        }
        if (it == 0) pages_first = __builtin_wasm_memory_size(0);
    }
    for (uint32_t k = 0; k < nout; k++)
        printf("output %u: %g %g %g %g\n", k, out[k][0], out[k][1], out[k][2], out[k][3]);
    /* the legacy errors a program relies on */
    uint32_t written = 0;
    printf("too_large %d\n", nn_get_output(ctx[0], 0, out[0], 15, &written));
    printf("bad_context %d\n", nn_compute(99));
    printf("pages %lu %lu\n", pages_first, (unsigned long)__builtin_wasm_memory_size(0));
    return 0;
}
