/* A preview1 wasi-nn program written the way a user would: raw imports, input i
 * is index i, no names anywhere. tests/test_adapter_names.py runs it preview1 and
 * adapted on models whose inputs have real names, and feeds it hostile models.
 *
 *   named_inputs ENC WEIGHTS NOUT NIN [TYPE DIMS]... MODEL...
 * ENC 0 (openvino) or 1 (onnx); WEIGHTS a second builder or "-" for none;
 * TYPE f32|i32|i64; DIMS like 1x4 or "scalar". Element j of input k is
 * ((7j + 3k) % 11) / 4 - 1 (f32) or (3j + k) % 5 (integers). Every MODEL is
 * loaded, run once and its NOUT outputs printed as f32.
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

int main(int argc, char **argv) {
    if (argc < 5) { fprintf(stderr, "usage: ENC WEIGHTS NOUT NIN [TYPE DIMS]... MODEL...\n"); return 2; }
    uint32_t enc = (uint32_t)atoi(argv[1]);
    struct builder b[2];
    uint32_t nb = 1;
    if (strcmp(argv[2], "-") != 0) b[1].ptr = slurp(argv[2], &b[1].len), nb = 2;
    uint32_t nout = (uint32_t)atoi(argv[3]), nin = (uint32_t)atoi(argv[4]);
    if (nin > 32) { fprintf(stderr, "at most 32 inputs\n"); return 2; }
    struct tensor in[32];
    uint32_t dims[32][4];
    int a = 5;
    for (uint32_t k = 0; k < nin; k++, a += 2) {
        const char *ty = argv[a];
        uint32_t n = 0, count = 1;
        if (strcmp(argv[a + 1], "scalar") != 0)
            for (char *s = argv[a + 1]; *s && n < 4; s++) {
                dims[k][n] = (uint32_t)strtoul(s, &s, 10);
                count *= dims[k][n++];
                if (*s != 'x') break;
            }
        uint32_t size = strcmp(ty, "f32") == 0 ? 4 : strcmp(ty, "i32") == 0 ? 4 : 8;
        uint8_t *data = malloc(count * size);
        for (uint32_t j = 0; j < count; j++) {
            if (strcmp(ty, "f32") == 0) ((float *)data)[j] = (float)((7 * j + 3 * k) % 11) / 4 - 1;
            else if (size == 4) ((int32_t *)data)[j] = (int32_t)((3 * j + k) % 5);
            else ((int64_t *)data)[j] = (int64_t)((3 * j + k) % 5);
        }
        in[k] = (struct tensor){dims[k], n, strcmp(ty, "f32") == 0 ? 1 : size == 4 ? 4 : 5, data, count * size};
    }
    for (; a < argc; a++) {
        uint32_t g, ctx, rc;
        b[0].ptr = slurp(argv[a], &b[0].len);
        rc = nn_load(b, nb, enc, 0, &g);
        printf("%s: load %d", argv[a], rc);
        if (rc == 0 && (rc = nn_init(g, &ctx)) == 0) {
            for (uint32_t k = 0; k < nin && rc == 0; k++) rc = nn_set_input(ctx, k, &in[k]);
            if (rc == 0) rc = nn_compute(ctx);
            printf(" compute %d", rc);
            for (uint32_t k = 0; k < nout && rc == 0; k++) {
                static float out[4096];
                uint32_t written = 0;
                rc = nn_get_output(ctx, k, out, sizeof out, &written);
                printf("\noutput %u:", k);
                for (uint32_t j = 0; rc == 0 && j < written / 4; j++) printf(" %.9g", out[j]);
            }
        }
        printf("\n");
        free(b[0].ptr);
    }
    return 0;
}
