/* nn_openvino_c.c: nn.h over the OpenVINO C API, for the native driver (host native-c).
 *
 * The same driver.c the wasm guests run, linked natively against the openvino
 * wheel's libopenvino_c: no wasm, no ABI layer, so its per-iteration time is the
 * floor a wasi-nn host can reach with this backend.
 *
 * Settings: NN_OPENVINO_CONFIG names a plugins.xml (the one hosts/wasmtime_cli.py
 * writes for the wasmtime CLI: f32 precision, threads, latency hint), read by
 * ov_core_create_with_config, so both hosts run OpenVINO with the same properties.
 * NN_LOAD_BY_NAME_TARGET (cpu|gpu) is the device of nn_load_by_name, which has no
 * target argument.
 *
 * set_input wraps the caller's bytes in a tensor without copying (as the Python
 * baseline does with shared_memory=True); get_output copies into the caller's buffer.
 */
#include <openvino/c/openvino.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn.h"

#define MAX_GRAPHS 16
#define MAX_CONTEXTS 16
#define MAX_INPUTS 64

typedef struct {
    ov_compiled_model_t *compiled;
    uint8_t *weights; /* owned copy of the IR weights: the model may keep pointing at it */
    size_t ninputs;
} graph_slot;

typedef struct {
    ov_infer_request_t *request;
    uint32_t graph;
    uint8_t set[MAX_INPUTS]; /* inputs bound so far: compute refuses a partial set */
    int computed;
} context_slot;

static ov_core_t *core;
static graph_slot graphs[MAX_GRAPHS];
static uint32_t ngraphs;
static context_slot contexts[MAX_CONTEXTS];
static uint32_t ncontexts;
static char error_text[1024];

const char *nn_error_message(void) { return error_text; }

/* Record OpenVINO's words for a failed call and map it to an errno. */
static int ov_fail(ov_status_e status, const char *call, int errno_value) {
    const char *last = ov_get_last_err_msg();
    snprintf(error_text, sizeof error_text, "%s: %s%s%s", call, ov_get_error_info(status),
             (last && *last) ? ": " : "", last ? last : "");
    /* keep one line: the driver prints it after "errno N (...)" */
    for (char *c = error_text; *c; c++)
        if (*c == '\n' || *c == '\r') *c = ' ';
    if (last) ov_free(last);
    return errno_value;
}

static int fail(int errno_value, const char *why) {
    snprintf(error_text, sizeof error_text, "%s", why);
    return errno_value;
}

static int ensure_core(void) {
    if (core) return NN_E_SUCCESS;
    const char *config = getenv("NN_OPENVINO_CONFIG");
    ov_status_e st = (config && *config) ? ov_core_create_with_config(config, &core)
                                         : ov_core_create(&core);
    return st == OK ? NN_E_SUCCESS : ov_fail(st, "ov_core_create", NN_E_RUNTIME_ERROR);
}

static const char *device_name(uint8_t target) {
    switch (target) {
    case NN_TARGET_CPU: return "CPU";
    case NN_TARGET_GPU: return "GPU";
    default: return NULL;
    }
}

/* Compile `model` (consumed) on the target and store it as a new graph. */
static int add_graph(ov_model_t *model, uint8_t target, uint8_t *weights, uint32_t *graph) {
    const char *device = device_name(target);
    int rc = NN_E_SUCCESS;
    ov_compiled_model_t *compiled = NULL;
    ov_status_e st;
    if (!device) rc = fail(NN_E_UNSUPPORTED_OPERATION, "OpenVINO has no TPU target");
    else if (ngraphs == MAX_GRAPHS) rc = fail(NN_E_BUSY, "too many graphs");
    else if ((st = ov_core_compile_model(core, model, device, 0, &compiled)) != OK)
        rc = ov_fail(st, "ov_core_compile_model", NN_E_RUNTIME_ERROR);
    ov_model_free(model);
    if (rc != NN_E_SUCCESS) {
        free(weights);
        return rc;
    }
    size_t ninputs = 0;
    if ((st = ov_compiled_model_inputs_size(compiled, &ninputs)) != OK) {
        ov_compiled_model_free(compiled);
        free(weights);
        return ov_fail(st, "ov_compiled_model_inputs_size", NN_E_RUNTIME_ERROR);
    }
    graphs[ngraphs] = (graph_slot){compiled, weights, ninputs};
    *graph = ngraphs++;
    return NN_E_SUCCESS;
}

int nn_load(const nn_bytes *builders, uint32_t n, uint8_t encoding, uint8_t target,
            uint32_t *graph) {
    int rc = ensure_core();
    if (rc) return rc;
    ov_model_t *model = NULL;
    ov_status_e st;
    uint8_t *weights = NULL;
    if (encoding == NN_ENC_OPENVINO) {
        if (n != 2) return fail(NN_E_INVALID_ARGUMENT, "openvino wants 2 builders (xml, bin)");
        weights = malloc(builders[1].len ? builders[1].len : 1);
        if (!weights) return fail(NN_E_RUNTIME_ERROR, "out of memory for the weights");
        memcpy(weights, builders[1].data, builders[1].len);
        int64_t dim = builders[1].len;
        ov_shape_t shape;
        ov_tensor_t *tensor = NULL;
        if ((st = ov_shape_create(1, &dim, &shape)) != OK) {
            free(weights);
            return ov_fail(st, "ov_shape_create", NN_E_RUNTIME_ERROR);
        }
        st = ov_tensor_create_from_host_ptr(U8, shape, weights, &tensor);
        ov_shape_free(&shape);
        if (st != OK) {
            free(weights);
            return ov_fail(st, "ov_tensor_create_from_host_ptr", NN_E_RUNTIME_ERROR);
        }
        st = ov_core_read_model_from_memory_buffer(core, (const char *)builders[0].data,
                                                   builders[0].len, tensor, &model);
        ov_tensor_free(tensor);
    } else if (encoding == NN_ENC_ONNX) {
        if (n != 1) return fail(NN_E_INVALID_ARGUMENT, "onnx wants 1 builder");
        st = ov_core_read_model_from_memory_buffer(core, (const char *)builders[0].data,
                                                   builders[0].len, NULL, &model);
    } else {
        return fail(NN_E_INVALID_ENCODING, "OpenVINO reads only the openvino and onnx encodings");
    }
    if (st != OK) {
        free(weights);
        return ov_fail(st, "ov_core_read_model_from_memory_buffer", NN_E_INVALID_ARGUMENT);
    }
    return add_graph(model, target, weights, graph);
}

int nn_load_by_name(const char *name, uint32_t len, uint32_t *graph) {
    int rc = ensure_core();
    if (rc) return rc;
    /* The name is a folder in the CLI's -S nn-graph layout, relative to the working
     * folder (the guest's "."); leaving it is not_found, as on the wasm hosts. */
    char dir[512], xml[600], bin[600], onnx[600];
    if (len == 0 || len >= sizeof dir || memchr(name, 0, len) || name[0] == '/')
        return fail(NN_E_NOT_FOUND, "bad graph name");
    memcpy(dir, name, len);
    dir[len] = 0;
    if (strcmp(dir, "..") == 0 || strncmp(dir, "../", 3) == 0 || strstr(dir, "/../") ||
        (len >= 3 && strcmp(dir + len - 3, "/..") == 0))
        return fail(NN_E_NOT_FOUND, "graph name leaves the working folder");
    snprintf(xml, sizeof xml, "%s/model.xml", dir);
    snprintf(bin, sizeof bin, "%s/model.bin", dir);
    snprintf(onnx, sizeof onnx, "%s/model.onnx", dir);
    FILE *probe = fopen(xml, "rb");
    const char *model_path = probe ? xml : onnx, *weights_path = probe ? bin : NULL;
    if (probe) fclose(probe);
    else if ((probe = fopen(onnx, "rb"))) fclose(probe);
    else return fail(NN_E_NOT_FOUND, "no model.xml or model.onnx in the named folder");
    ov_model_t *model = NULL;
    ov_status_e st = ov_core_read_model(core, model_path, weights_path, &model);
    if (st != OK) return ov_fail(st, "ov_core_read_model", NN_E_INVALID_ARGUMENT);
    const char *t = getenv("NN_LOAD_BY_NAME_TARGET");
    uint8_t target = (t && strcmp(t, "gpu") == 0) ? NN_TARGET_GPU : NN_TARGET_CPU;
    return add_graph(model, target, NULL, graph);
}

int nn_init_execution_context(uint32_t graph, uint32_t *ctx) {
    if (graph >= ngraphs) return fail(NN_E_INVALID_ARGUMENT, "bad graph handle");
    if (ncontexts == MAX_CONTEXTS) return fail(NN_E_BUSY, "too many contexts");
    ov_infer_request_t *request = NULL;
    ov_status_e st = ov_compiled_model_create_infer_request(graphs[graph].compiled, &request);
    if (st != OK) return ov_fail(st, "ov_compiled_model_create_infer_request", NN_E_RUNTIME_ERROR);
    contexts[ncontexts] = (context_slot){.request = request, .graph = graph};
    *ctx = ncontexts++;
    return NN_E_SUCCESS;
}

/* witx tensor_type -> (OpenVINO element type, bytes per element) */
static int element_type(uint8_t type, ov_element_type_e *et, uint32_t *size) {
    switch (type) {
    case NN_F16: *et = F16; *size = 2; return 1;
    case NN_F32: *et = F32; *size = 4; return 1;
    case NN_F64: *et = F64; *size = 8; return 1;
    case NN_U8: *et = U8; *size = 1; return 1;
    case NN_I32: *et = I32; *size = 4; return 1;
    case NN_I64: *et = I64; *size = 8; return 1;
    default: return 0;
    }
}

int nn_set_input(uint32_t ctx, uint32_t index, const char *name, const nn_tensor *t) {
    (void)name; /* by position, like the witx ABI and the CLI's OpenVINO backend */
    if (ctx >= ncontexts) return fail(NN_E_INVALID_ARGUMENT, "bad context handle");
    context_slot *c = &contexts[ctx];
    if (index >= graphs[c->graph].ninputs || index >= MAX_INPUTS)
        return fail(NN_E_INVALID_ARGUMENT, "input index out of range");
    ov_element_type_e et;
    uint32_t size;
    if (!element_type(t->type, &et, &size)) return fail(NN_E_INVALID_ARGUMENT, "bad tensor type");
    if (t->ndims > 16) return fail(NN_E_INVALID_ARGUMENT, "too many dimensions");
    int64_t dims[16];
    uint64_t count = 1;
    for (uint32_t i = 0; i < t->ndims; i++) {
        dims[i] = t->dims[i];
        count *= t->dims[i];
    }
    if (count * size != t->len)
        return fail(NN_E_INVALID_ARGUMENT, "data length is not dims x type size");
    /* ov_shape_create refuses rank 0, but a scalar is a shape of no dims: build it here */
    ov_shape_t shape = {0, dims};
    ov_tensor_t *tensor = NULL;
    ov_status_e st = OK;
    if (t->ndims > 0 && (st = ov_shape_create(t->ndims, dims, &shape)) != OK)
        return ov_fail(st, "ov_shape_create", NN_E_INVALID_ARGUMENT);
    st = ov_tensor_create_from_host_ptr(et, shape, (void *)t->data, &tensor);
    if (t->ndims > 0) ov_shape_free(&shape);
    if (st != OK) return ov_fail(st, "ov_tensor_create_from_host_ptr", NN_E_INVALID_ARGUMENT);
    /* the request keeps its own reference to the tensor; the wrapper can go */
    st = ov_infer_request_set_input_tensor_by_index(c->request, index, tensor);
    ov_tensor_free(tensor);
    if (st != OK)
        return ov_fail(st, "ov_infer_request_set_input_tensor_by_index", NN_E_INVALID_ARGUMENT);
    c->set[index] = 1;
    return NN_E_SUCCESS;
}

int nn_compute(uint32_t ctx) {
    if (ctx >= ncontexts) return fail(NN_E_INVALID_ARGUMENT, "bad context handle");
    context_slot *c = &contexts[ctx];
    for (size_t i = 0; i < graphs[c->graph].ninputs && i < MAX_INPUTS; i++)
        if (!c->set[i]) return fail(NN_E_RUNTIME_ERROR, "compute before every input is set");
    ov_status_e st = ov_infer_request_infer(c->request);
    if (st != OK) return ov_fail(st, "ov_infer_request_infer", NN_E_RUNTIME_ERROR);
    c->computed = 1;
    return NN_E_SUCCESS;
}

int nn_get_output(uint32_t ctx, uint32_t index, const char *name, uint8_t *buf, uint32_t max,
                  uint32_t *written) {
    (void)name;
    if (ctx >= ncontexts) return fail(NN_E_INVALID_ARGUMENT, "bad context handle");
    context_slot *c = &contexts[ctx];
    if (!c->computed) return fail(NN_E_RUNTIME_ERROR, "get_output before compute");
    ov_tensor_t *tensor = NULL;
    ov_status_e st = ov_infer_request_get_output_tensor_by_index(c->request, index, &tensor);
    if (st != OK)
        return ov_fail(st, "ov_infer_request_get_output_tensor_by_index", NN_E_INVALID_ARGUMENT);
    size_t bytes = 0;
    void *data = NULL;
    int rc = NN_E_SUCCESS;
    if ((st = ov_tensor_get_byte_size(tensor, &bytes)) != OK)
        rc = ov_fail(st, "ov_tensor_get_byte_size", NN_E_RUNTIME_ERROR);
    else if (bytes > max) rc = fail(NN_E_TOO_LARGE, "output larger than the buffer");
    else if ((st = ov_tensor_data(tensor, &data)) != OK)
        rc = ov_fail(st, "ov_tensor_data", NN_E_RUNTIME_ERROR);
    else {
        memcpy(buf, data, bytes);
        *written = (uint32_t)bytes;
    }
    ov_tensor_free(tensor);
    return rc;
}

/* key\0value\0 pair into buf; returns the new offset (past max when it did not fit). */
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
    if (encoding != NN_ENC_OPENVINO && encoding != NN_ENC_ONNX)
        return fail(NN_E_INVALID_ENCODING, "OpenVINO reads only the openvino and onnx encodings");
    const char *device = device_name(target);
    if (!device) return fail(NN_E_UNSUPPORTED_OPERATION, "OpenVINO has no TPU target");
    int rc = ensure_core();
    if (rc) return rc;
    ov_version_t version = {0};
    const char *config = getenv("NN_OPENVINO_CONFIG");
    uint32_t at = 0;
    at = put(buf, max, at, "backend", "openvino");
    if (ov_get_openvino_version(&version) == OK) {
        at = put(buf, max, at, "version", version.buildNumber);
        ov_version_free(&version);
    }
    at = put(buf, max, at, "api", "OpenVINO C API (libopenvino_c), native driver");
    at = put(buf, max, at, "device", target == NN_TARGET_CPU ? "cpu" : "gpu");
    at = put(buf, max, at, "plugins_xml", config ? config : "");
    /* what the plugin will really use, as OpenVINO reports it */
    static const char *const keys[][2] = {{"threads", "INFERENCE_NUM_THREADS"},
                                          {"precision", "INFERENCE_PRECISION_HINT"},
                                          {"performance_hint", "PERFORMANCE_HINT"}};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        char *value = NULL;
        if (ov_core_get_property(core, device, keys[i][1], &value) == OK && value) {
            at = put(buf, max, at, keys[i][0], value);
            ov_free(value);
        }
    }
    *written = at;
    return at > max ? NN_E_TOO_LARGE : NN_E_SUCCESS;
}
