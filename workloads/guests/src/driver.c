/* driver.c: the wasi-nn benchmark guest.
 *
 * Reads the model and input tensors from the preopened folder, loads and
 * initialises the graph (timed), then runs warm-up + measured iterations of
 * set_input (all inputs) / compute / get_output (all outputs), timing each
 * phase with CLOCK_MONOTONIC. Writes the samples and the last outputs to files.
 * The argv is documented in docs/hosts.md and in usage() below.
 * With --properties FILE it first asks the host to describe its backend
 * (experimental query, docs/properties.md) and writes key=value lines; a host
 * without the query gives an empty file and the run carries on.
 *
 * Exit codes: 0 ok, 2 bad argv, 3 file I/O, 4 a wasi-nn call failed.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nn.h"

#define MAX_ITEMS 64
#define MAX_DIMS 16

typedef struct {
    uint32_t index;
    const char *name;
    uint8_t type;
    uint32_t dims[MAX_DIMS];
    uint32_t ndims;
    const char *file;
    uint8_t *data;
    uint32_t len;
} input_arg;

typedef struct {
    uint32_t index;
    const char *name;
    uint32_t max;
    const char *file;
    uint8_t *buf;
    uint32_t written;
} output_arg;

static const char *const ERRNO_NAMES[] = {
    "success",      "invalid_argument",      "invalid_encoding", "missing_memory", "busy",
    "runtime_error", "unsupported_operation", "too_large",        "not_found",
};
static const char *const ENCODINGS[] = {"openvino",       "onnx",      "tensorflow", "pytorch",
                                        "tensorflowlite", "autodetect", NULL};
static const char *const TARGETS[] = {"cpu", "gpu", "tpu", NULL};
static const char *const TYPES[] = {"f16", "f32", "f64", "u8", "i32", "i64", NULL};

static void usage(const char *why, const char *arg) {
    fprintf(stderr,
            "driver: %s%s%s\n"
            "usage: driver --encoding ENC --target TGT [--load bytes|name] [--name NAME]\n"
            "  [--model FILE]... [--input INDEX NAME TYPE DIMS FILE]...\n"
            "  [--output INDEX NAME MAXBYTES FILE]... [--warmup N] [--iterations N]\n"
            "  [--samples FILE] [--properties FILE]\n"
            "  ENC openvino|onnx|tensorflow|pytorch|tensorflowlite|autodetect; TGT cpu|gpu|tpu\n"
            "  TYPE f16|f32|f64|u8|i32|i64; DIMS like 1x3x224x224 (\"scalar\" for rank 0)\n",
            why, arg ? ": " : "", arg ? arg : "");
    exit(2);
}

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Exit with a message naming the call, the errno and the backend's message. */
static void check(int rc, const char *call) {
    if (rc == NN_E_SUCCESS) return;
    const char *name = (rc > 0 && rc <= NN_E_NOT_FOUND) ? ERRNO_NAMES[rc] : "unknown";
    const char *msg = nn_error_message();
    fprintf(stderr, "driver: %s failed: errno %d (%s)%s%s\n", call, rc, name,
            (msg && *msg) ? ": " : "", msg ? msg : "");
    exit(4);
}

static int lookup(const char *const *table, const char *s, const char *what) {
    for (int i = 0; table[i]; i++)
        if (strcmp(table[i], s) == 0) return i;
    usage(what, s);
    return -1;
}

static uint32_t parse_u32(const char *s, const char *what) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || v > UINT32_MAX) usage(what, s);
    return (uint32_t)v;
}

static uint32_t parse_dims(const char *s, uint32_t *dims) {
    if (strcmp(s, "scalar") == 0) return 0;
    uint32_t n = 0;
    const char *p = s;
    for (;;) {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(p, &end, 10);
        if (errno || end == p || v > UINT32_MAX || n == MAX_DIMS) usage("bad DIMS", s);
        dims[n++] = (uint32_t)v;
        if (*end == 0) return n;
        if (*end != 'x') usage("bad DIMS", s);
        p = end + 1;
    }
}

static uint8_t *read_file(const char *path, uint32_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) goto fail;
    if (fseek(f, 0, SEEK_END) != 0) goto fail;
    long size = ftell(f);
    if (size < 0 || (unsigned long)size > UINT32_MAX || fseek(f, 0, SEEK_SET) != 0) goto fail;
    uint8_t *buf = malloc(size ? (size_t)size : 1);
    if (!buf || fread(buf, 1, (size_t)size, f) != (size_t)size) goto fail;
    fclose(f);
    *len = (uint32_t)size;
    return buf;
fail:
    fprintf(stderr, "driver: cannot read %s: %s\n", path, strerror(errno));
    exit(3);
}

static FILE *open_out(const char *path) {
    FILE *f = fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "driver: cannot write %s: %s\n", path, strerror(errno));
        exit(3);
    }
    return f;
}

static void close_out(FILE *f, const char *path) {
    if (ferror(f) | fclose(f)) {
        fprintf(stderr, "driver: cannot write %s: %s\n", path, strerror(errno));
        exit(3);
    }
}

/* One key=value line; newlines in a value would split the line: spaces instead. */
static void put_pair(FILE *f, const char *key, const char *value) {
    fputs(key, f);
    fputc('=', f);
    for (const char *c = value; *c; c++) fputc(*c == '\n' || *c == '\r' ? ' ' : *c, f);
    fputc('\n', f);
}

/* Ask the host for its backend properties (never fatal). errno 6 or a stub that
 * writes nothing -> empty file; another errno -> "error=<name>". */
static void write_properties(const char *path, int encoding, int target) {
    FILE *f = open_out(path);
    uint32_t max = 4096, written = 0;
    uint8_t *buf = encoding >= 0 ? malloc(max) : NULL;
    int rc = buf ? nn_properties((uint8_t)encoding, (uint8_t)target, buf, max, &written)
                 : NN_E_UNSUPPORTED_OPERATION;
    if (rc == NN_E_TOO_LARGE && written > max) { /* written = the size needed */
        free(buf);
        max = written;
        written = 0;
        buf = malloc(max);
        rc = buf ? nn_properties((uint8_t)encoding, (uint8_t)target, buf, max, &written)
                 : NN_E_MISSING_MEMORY;
    }
    if (rc == NN_E_SUCCESS) {
        if (written > max) written = max;
        /* key\0value\0...: stop at the first pair that is not terminated in range */
        uint32_t i = 0;
        while (i < written) {
            const char *key = (const char *)buf + i;
            uint32_t klen = (uint32_t)strnlen(key, written - i);
            uint32_t j = i + klen + 1;
            if (j >= written) break;
            const char *value = (const char *)buf + j;
            uint32_t vlen = (uint32_t)strnlen(value, written - j);
            if (j + vlen >= written) break;
            put_pair(f, key, value);
            i = j + vlen + 1;
        }
    } else if (rc != NN_E_UNSUPPORTED_OPERATION) {
        put_pair(f, "error", (rc > 0 && rc <= NN_E_NOT_FOUND) ? ERRNO_NAMES[rc] : "unknown");
    }
    free(buf);
    close_out(f, path);
}

int main(int argc, char **argv) {
    int encoding = -1, target = NN_TARGET_CPU, by_name = 0;
    const char *graph_name = NULL, *samples = NULL, *properties = NULL;
    const char *models[MAX_ITEMS];
    input_arg inputs[MAX_ITEMS];
    output_arg outputs[MAX_ITEMS];
    uint32_t nmodels = 0, ninputs = 0, noutputs = 0, warmup = 0, iterations = 1;

#define NEED(k) \
    if (i + (k) >= argc) usage("missing values after", argv[i])
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--encoding") == 0) {
            NEED(1);
            encoding = lookup(ENCODINGS, argv[++i], "unknown encoding");
        } else if (strcmp(a, "--target") == 0) {
            NEED(1);
            target = lookup(TARGETS, argv[++i], "unknown target");
        } else if (strcmp(a, "--load") == 0) {
            NEED(1);
            const char *m = argv[++i];
            if (strcmp(m, "name") == 0) by_name = 1;
            else if (strcmp(m, "bytes") == 0) by_name = 0;
            else usage("unknown load mode", m);
        } else if (strcmp(a, "--name") == 0) {
            NEED(1);
            graph_name = argv[++i];
        } else if (strcmp(a, "--model") == 0) {
            NEED(1);
            if (nmodels == MAX_ITEMS) usage("too many", a);
            models[nmodels++] = argv[++i];
        } else if (strcmp(a, "--input") == 0) {
            NEED(5);
            if (ninputs == MAX_ITEMS) usage("too many", a);
            input_arg *in = &inputs[ninputs++];
            in->index = parse_u32(argv[++i], "bad input INDEX");
            in->name = argv[++i];
            in->type = (uint8_t)lookup(TYPES, argv[++i], "unknown tensor TYPE");
            in->ndims = parse_dims(argv[++i], in->dims);
            in->file = argv[++i];
        } else if (strcmp(a, "--output") == 0) {
            NEED(4);
            if (noutputs == MAX_ITEMS) usage("too many", a);
            output_arg *out = &outputs[noutputs++];
            out->index = parse_u32(argv[++i], "bad output INDEX");
            out->name = argv[++i];
            out->max = parse_u32(argv[++i], "bad output MAXBYTES");
            out->file = argv[++i];
        } else if (strcmp(a, "--warmup") == 0) {
            NEED(1);
            warmup = parse_u32(argv[++i], "bad --warmup");
        } else if (strcmp(a, "--iterations") == 0) {
            NEED(1);
            iterations = parse_u32(argv[++i], "bad --iterations");
        } else if (strcmp(a, "--samples") == 0) {
            NEED(1);
            samples = argv[++i];
        } else if (strcmp(a, "--properties") == 0) {
            NEED(1);
            properties = argv[++i];
        } else {
            usage("unknown argument", a);
        }
    }
    if (by_name && !graph_name) usage("--load name needs --name", NULL);
    if (!by_name && (encoding < 0 || nmodels == 0)) usage("--load bytes needs --encoding and --model", NULL);

    /* Read everything before the first timed call. */
    nn_bytes builders[MAX_ITEMS];
    for (uint32_t k = 0; k < nmodels; k++) {
        uint32_t len;
        builders[k].data = read_file(models[k], &len);
        builders[k].len = len;
    }
    for (uint32_t k = 0; k < ninputs; k++) inputs[k].data = read_file(inputs[k].file, &inputs[k].len);
    for (uint32_t k = 0; k < noutputs; k++) {
        outputs[k].buf = malloc(outputs[k].max ? outputs[k].max : 1);
        if (!outputs[k].buf) {
            fprintf(stderr, "driver: out of memory for output %u\n", outputs[k].index);
            exit(3);
        }
    }
    uint64_t *t = calloc((size_t)iterations * 4 + 4, sizeof(uint64_t));
    if (!t) {
        fprintf(stderr, "driver: out of memory for %u samples\n", iterations);
        exit(3);
    }

    if (properties) write_properties(properties, encoding, target);

    uint32_t graph, ctx;
    uint64_t t0 = now_ns();
    if (by_name)
        check(nn_load_by_name(graph_name, (uint32_t)strlen(graph_name), &graph), "load_by_name");
    else
        check(nn_load(builders, nmodels, (uint8_t)encoding, (uint8_t)target, &graph), "load");
    uint64_t t1 = now_ns();
    check(nn_init_execution_context(graph, &ctx), "init_execution_context");
    uint64_t t2 = now_ns();
    uint64_t load_ns = t1 - t0, init_ns = t2 - t1;

    for (uint32_t it = 0; it < warmup + iterations; it++) {
        uint64_t a = now_ns();
        for (uint32_t k = 0; k < ninputs; k++) {
            input_arg *in = &inputs[k];
            nn_tensor tensor = {in->dims, in->ndims, in->type, in->data, in->len};
            check(nn_set_input(ctx, in->index, in->name, &tensor), "set_input");
        }
        uint64_t b = now_ns();
        check(nn_compute(ctx), "compute");
        uint64_t c = now_ns();
        for (uint32_t k = 0; k < noutputs; k++) {
            output_arg *out = &outputs[k];
            check(nn_get_output(ctx, out->index, out->name, out->buf, out->max, &out->written),
                  "get_output");
        }
        uint64_t d = now_ns();
        if (it >= warmup) {
            uint64_t *row = &t[(size_t)(it - warmup) * 4];
            row[0] = b - a;
            row[1] = c - b;
            row[2] = d - c;
            row[3] = d - a;
        }
    }

    if (samples) {
        FILE *f = open_out(samples);
        fprintf(f, "wasi-nn-driver-samples 1\nload %llu\ninit %llu\n", (unsigned long long)load_ns,
                (unsigned long long)init_ns);
        for (uint32_t it = 0; it < iterations; it++) {
            uint64_t *row = &t[(size_t)it * 4];
            fprintf(f, "iter %llu %llu %llu %llu\n", (unsigned long long)row[0],
                    (unsigned long long)row[1], (unsigned long long)row[2],
                    (unsigned long long)row[3]);
        }
        close_out(f, samples);
    }
    for (uint32_t k = 0; k < noutputs; k++) {
        FILE *f = open_out(outputs[k].file);
        fwrite(outputs[k].buf, 1, outputs[k].written, f);
        close_out(f, outputs[k].file);
    }
    return 0;
}
