/* ov_loop.c: the OpenVINO C API called directly in a tight loop (no nn.h, no driver).
 *
 * The reference for the native-c driver's own overhead (microbenchmarks/native_c/overhead.py):
 * per iteration it does the work the driver's iteration does through nn_openvino_c.c
 * (wrap the input bytes in a tensor and bind it, infer, copy the output out), with
 * one clock read before and one after. Same plugins.xml (NN_OPENVINO_CONFIG).
 *
 * usage: ov_loop MODEL.xml MODEL.bin INPUT.bin DIMS(1x64) OUTPUT_BYTES WARMUP ITERATIONS
 * prints one line per measured iteration: its ns
 */
#include <openvino/c/openvino.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#define OK_OR_DIE(call)                                                              \
    do {                                                                             \
        ov_status_e st_ = (call);                                                    \
        if (st_ != OK) {                                                             \
            fprintf(stderr, "ov_loop: %s: %s\n", #call, ov_get_error_info(st_));     \
            exit(1);                                                                 \
        }                                                                            \
    } while (0)

int main(int argc, char **argv) {
    if (argc != 8) {
        fprintf(stderr, "usage: ov_loop XML BIN INPUT DIMS OUTPUT_BYTES WARMUP ITERATIONS\n");
        return 2;
    }
    int64_t dims[16];
    int64_t rank = 0;
    for (char *p = argv[4]; *p && rank < 16; p++) {
        dims[rank++] = strtoll(p, &p, 10);
        if (*p != 'x') break;
    }
    size_t out_max = strtoull(argv[5], NULL, 10);
    long warmup = atol(argv[6]), iterations = atol(argv[7]);

    FILE *f = fopen(argv[3], "rb");
    if (!f) return 3;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *input = malloc(len), *out = malloc(out_max);
    if (fread(input, 1, len, f) != (size_t)len) return 3;
    fclose(f);

    ov_core_t *core;
    const char *config = getenv("NN_OPENVINO_CONFIG");
    OK_OR_DIE(config ? ov_core_create_with_config(config, &core) : ov_core_create(&core));
    ov_model_t *model;
    OK_OR_DIE(ov_core_read_model(core, argv[1], argv[2], &model));
    ov_compiled_model_t *compiled;
    OK_OR_DIE(ov_core_compile_model(core, model, "CPU", 0, &compiled));
    ov_infer_request_t *request;
    OK_OR_DIE(ov_compiled_model_create_infer_request(compiled, &request));

    uint64_t *samples = malloc(sizeof(uint64_t) * (iterations > 0 ? iterations : 1));
    for (long it = 0; it < warmup + iterations; it++) {
        uint64_t a = now_ns();
        ov_shape_t shape;
        ov_tensor_t *tensor, *result;
        OK_OR_DIE(ov_shape_create(rank, dims, &shape));
        OK_OR_DIE(ov_tensor_create_from_host_ptr(F32, shape, input, &tensor));
        ov_shape_free(&shape);
        OK_OR_DIE(ov_infer_request_set_input_tensor_by_index(request, 0, tensor));
        ov_tensor_free(tensor);
        OK_OR_DIE(ov_infer_request_infer(request));
        OK_OR_DIE(ov_infer_request_get_output_tensor_by_index(request, 0, &result));
        size_t bytes;
        void *data;
        OK_OR_DIE(ov_tensor_get_byte_size(result, &bytes));
        OK_OR_DIE(ov_tensor_data(result, &data));
        memcpy(out, data, bytes < out_max ? bytes : out_max);
        ov_tensor_free(result);
        uint64_t b = now_ns();
        if (it >= warmup) samples[it - warmup] = b - a;
    }
    for (long i = 0; i < iterations; i++) printf("%llu\n", (unsigned long long)samples[i]);
    return 0;
}
