/* nn.h: the small wasi-nn binding the driver is written against.
 *
 * Two implementations share it: nn_preview1.c (legacy witx imports,
 * module "wasi_ephemeral_nn") and nn_component.c (wasi:nn@0.2.0-rc-2024-10-28).
 * Every function returns a witx errno (0 = success, see NN_E_* below); the
 * numbering of encodings, targets and tensor types is the witx one too.
 */
#ifndef NN_H
#define NN_H

#include <stdint.h>

/* witx errno */
enum {
    NN_E_SUCCESS = 0,
    NN_E_INVALID_ARGUMENT = 1,
    NN_E_INVALID_ENCODING = 2,
    NN_E_MISSING_MEMORY = 3,
    NN_E_BUSY = 4,
    NN_E_RUNTIME_ERROR = 5,
    NN_E_UNSUPPORTED_OPERATION = 6,
    NN_E_TOO_LARGE = 7,
    NN_E_NOT_FOUND = 8,
};

/* witx graph_encoding */
enum {
    NN_ENC_OPENVINO = 0,
    NN_ENC_ONNX = 1,
    NN_ENC_TENSORFLOW = 2,
    NN_ENC_PYTORCH = 3,
    NN_ENC_TENSORFLOWLITE = 4,
    NN_ENC_AUTODETECT = 5,
};

/* witx execution_target */
enum { NN_TARGET_CPU = 0, NN_TARGET_GPU = 1, NN_TARGET_TPU = 2 };

/* witx tensor_type */
enum { NN_F16 = 0, NN_F32 = 1, NN_F64 = 2, NN_U8 = 3, NN_I32 = 4, NN_I64 = 5 };

typedef struct {
    const uint8_t *data;
    uint32_t len;
} nn_bytes;

typedef struct {
    const uint32_t *dims;
    uint32_t ndims;
    uint8_t type; /* witx tensor_type numbering */
    const uint8_t *data;
    uint32_t len;
} nn_tensor;

int nn_load(const nn_bytes *builders, uint32_t n, uint8_t encoding, uint8_t target,
            uint32_t *graph);
int nn_load_by_name(const char *name, uint32_t len, uint32_t *graph);
int nn_init_execution_context(uint32_t graph, uint32_t *ctx);
/* preview1 uses the index, the component binding the name */
int nn_set_input(uint32_t ctx, uint32_t index, const char *name, const nn_tensor *t);
int nn_compute(uint32_t ctx);
int nn_get_output(uint32_t ctx, uint32_t index, const char *name, uint8_t *buf, uint32_t max,
                  uint32_t *written);
/* Experimental (docs/properties.md): the backend serving (encoding, target) as
 * key\0value\0... pairs in buf; *written = bytes written, or needed on too_large.
 * Hosts without it: unsupported_operation, or 0 with *written untouched. */
int nn_properties(uint8_t encoding, uint8_t target, uint8_t *buf, uint32_t max,
                  uint32_t *written);
/* The backend's message for the last failed call; "" when the ABI carries none. */
const char *nn_error_message(void);

#endif
