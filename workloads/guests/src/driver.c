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
 * With --generate it decodes instead (docs/decoding.md): each of warm-up +
 * measured generations feeds the prompt one token per compute, then takes the
 * argmax of the logits as the next token, for STEPS tokens; the KV cache
 * tensors (--kv) are handed back as inputs every step, or stay in the backend
 * when the model keeps them as state (no --kv). Per step it times set_input,
 * compute, get_output and the whole step (argmax included) and counts the
 * bytes handed to and taken from wasi-nn.
 *
 * Exit codes: 0 ok, 2 bad argv, 3 file I/O, 4 a wasi-nn call failed,
 * 5 generations of one run produced different tokens.
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

/* Generate mode: the tensors that play a role in decoding. */
typedef struct {
    uint32_t index;
    const char *name;
    uint32_t dims[MAX_DIMS];
    uint32_t ndims;
} role_arg;

typedef struct {
    role_arg past;      /* input (f32) */
    uint32_t out_index; /* the output that becomes the next step's `past` */
    const char *out_name;
    uint8_t *buf;
    uint32_t len;
} kv_arg;

typedef struct {
    const char *prompt_file, *tokens_file;
    uint32_t steps;
    role_arg token, position; /* i64 inputs */
    role_arg logits;          /* f32 output; dims[0] = MAXBYTES */
    kv_arg kv[MAX_ITEMS];
    uint32_t nkv;
} gen_args;

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
            "  generate mode: --generate PROMPT_FILE STEPS TOKENS_FILE --token INDEX NAME DIMS\n"
            "  --position INDEX NAME DIMS --logits INDEX NAME MAXBYTES\n"
            "  [--kv IN_INDEX IN_NAME OUT_INDEX OUT_NAME DIMS]...\n"
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

/* ---- generate mode ---------------------------------------------------------------- */

static uint32_t argmax_f32(const uint8_t *bytes, uint32_t n) {
    uint32_t best = 0;
    float top = 0;
    for (uint32_t i = 0; i < n; i++) {
        float v;
        memcpy(&v, bytes + (size_t)i * 4, 4); /* little-endian on every target we build */
        if (i == 0 || v > top) { /* the first of equal maxima, as numpy.argmax */
            top = v;
            best = i;
        }
    }
    return best;
}

static uint32_t dims_count(const role_arg *r) {
    uint64_t n = 1;
    for (uint32_t d = 0; d < r->ndims; d++) n *= r->dims[d];
    if (n > UINT32_MAX / 8) usage("tensor too large", r->name);
    return (uint32_t)n;
}

/* One step: hand the token, its position and the cache over, compute, take the logits
 * and the cache back. Returns the bytes handed over (*in) and taken back (*out). */
static void step(uint32_t ctx, gen_args *g, int64_t token, int64_t position, uint8_t *logits,
                 uint64_t t[4], uint64_t *in, uint64_t *out) {
    uint32_t n_tok = dims_count(&g->token), n_pos = dims_count(&g->position);
    int64_t tok_buf[8], pos_buf[8]; /* shapes like [1,1] and [1]: checked at parse time */
    for (uint32_t i = 0; i < n_tok; i++) tok_buf[i] = token;
    for (uint32_t i = 0; i < n_pos; i++) pos_buf[i] = position;
    nn_tensor tensors[2] = {
        {g->token.dims, g->token.ndims, NN_I64, (const uint8_t *)tok_buf, n_tok * 8},
        {g->position.dims, g->position.ndims, NN_I64, (const uint8_t *)pos_buf, n_pos * 8},
    };
    *in = *out = 0;
    t[0] = now_ns();
    check(nn_set_input(ctx, g->token.index, g->token.name, &tensors[0]), "set_input");
    check(nn_set_input(ctx, g->position.index, g->position.name, &tensors[1]), "set_input");
    *in += tensors[0].len + tensors[1].len;
    for (uint32_t k = 0; k < g->nkv; k++) {
        kv_arg *kv = &g->kv[k];
        nn_tensor tensor = {kv->past.dims, kv->past.ndims, NN_F32, kv->buf, kv->len};
        check(nn_set_input(ctx, kv->past.index, kv->past.name, &tensor), "set_input");
        *in += kv->len;
    }
    t[1] = now_ns();
    check(nn_compute(ctx), "compute");
    t[2] = now_ns();
    uint32_t written = 0;
    check(nn_get_output(ctx, g->logits.index, g->logits.name, logits, g->logits.dims[0], &written),
          "get_output");
    if (written % 4 || written == 0 || written > g->logits.dims[0]) {
        fprintf(stderr, "driver: logits output gave %u bytes, not whole f32 values\n", written);
        exit(4);
    }
    g->logits.ndims = written / 4; /* the vocabulary, for the argmax */
    *out += written;
    for (uint32_t k = 0; k < g->nkv; k++) {
        kv_arg *kv = &g->kv[k];
        check(nn_get_output(ctx, kv->out_index, kv->out_name, kv->buf, kv->len, &written),
              "get_output");
        if (written != kv->len) {
            fprintf(stderr, "driver: output %s gave %u bytes, the cache needs %u\n", kv->out_name,
                    written, kv->len);
            exit(4);
        }
        *out += written;
    }
    t[3] = now_ns();
}

/* Run warmup + iterations generations; write samples and the last generation's tokens. */
static void generate(uint32_t ctx, gen_args *g, uint32_t warmup, uint32_t iterations,
                     FILE *samples) {
    uint32_t plen = 0;
    uint8_t *prompt = read_file(g->prompt_file, &plen);
    if (plen == 0 || plen % 8) usage("the prompt file must hold int64 tokens", g->prompt_file);
    plen /= 8;
    uint32_t nsteps = plen + g->steps - 1; /* the last generated token needs no compute */
    uint8_t *logits = malloc(g->logits.dims[0] ? g->logits.dims[0] : 1);
    int64_t *first = calloc(g->steps, 8), *tokens = calloc(g->steps, 8);
    for (uint32_t k = 0; k < g->nkv; k++) {
        kv_arg *kv = &g->kv[k];
        kv->len = dims_count(&kv->past) * 4;
        kv->buf = malloc(kv->len ? kv->len : 1);
        if (!kv->buf) usage("out of memory for the cache", kv->past.name);
    }
    /* per measured step: set, compute, get, step, bytes in, bytes out; written at the end */
    uint64_t *rows = calloc((size_t)iterations * nsteps * 6 + 1, 8);
    uint64_t *ttfts = calloc((size_t)iterations + 1, 8);
    if (!logits || !first || !tokens || !rows || !ttfts) usage("out of memory", NULL);
    for (uint32_t gen = 0; gen < warmup + iterations; gen++) {
        for (uint32_t k = 0; k < g->nkv; k++) memset(g->kv[k].buf, 0, g->kv[k].len);
        uint32_t made = 0;
        uint64_t start = now_ns(), ttft = 0;
        for (uint32_t i = 0; i < nsteps; i++) {
            int64_t token;
            if (i < plen) memcpy(&token, prompt + (size_t)i * 8, 8);
            else token = tokens[made - 1];
            uint64_t t[4], in, out;
            step(ctx, g, token, i, logits, t, &in, &out);
            if (i + 1 >= plen) tokens[made++] = argmax_f32(logits, g->logits.ndims);
            uint64_t end = now_ns();
            if (i + 1 == plen) ttft = end - start;
            if (gen >= warmup) {
                uint64_t *row = &rows[((size_t)(gen - warmup) * nsteps + i) * 6];
                uint64_t values[6] = {t[1] - t[0], t[2] - t[1], t[3] - t[2], end - t[0], in, out};
                memcpy(row, values, sizeof values);
            }
        }
        if (gen >= warmup) ttfts[gen - warmup] = ttft;
        if (gen == 0) memcpy(first, tokens, (size_t)g->steps * 8);
        else if (memcmp(first, tokens, (size_t)g->steps * 8) != 0) {
            fprintf(stderr, "driver: generation %u produced other tokens than generation 0\n", gen);
            exit(5);
        }
    }
    for (uint32_t gen = 0; samples && gen < iterations; gen++) {
        fprintf(samples, "gen %u %llu\n", gen, (unsigned long long)ttfts[gen]);
        for (uint32_t i = 0; i < nsteps; i++) {
            uint64_t *r = &rows[((size_t)gen * nsteps + i) * 6];
            fprintf(samples, "step %u %u %llu %llu %llu %llu %llu %llu\n", gen, i,
                    (unsigned long long)r[0], (unsigned long long)r[1], (unsigned long long)r[2],
                    (unsigned long long)r[3], (unsigned long long)r[4], (unsigned long long)r[5]);
        }
    }
    FILE *f = open_out(g->tokens_file);
    fwrite(tokens, 8, g->steps, f);
    close_out(f, g->tokens_file);
}

static void parse_role(role_arg *r, char **argv, int *i, int with_dims) {
    r->index = parse_u32(argv[++*i], "bad INDEX");
    r->name = argv[++*i];
    if (with_dims) {
        r->ndims = parse_dims(argv[++*i], r->dims);
        if (dims_count(r) > 8) usage("token and position tensors hold at most 8 values", r->name);
    } else {
        r->dims[0] = parse_u32(argv[++*i], "bad MAXBYTES");
        r->ndims = 0;
    }
}

int main(int argc, char **argv) {
    int encoding = -1, target = NN_TARGET_CPU, by_name = 0;
    const char *graph_name = NULL, *samples = NULL, *properties = NULL;
    const char *models[MAX_ITEMS];
    input_arg inputs[MAX_ITEMS];
    output_arg outputs[MAX_ITEMS];
    uint32_t nmodels = 0, ninputs = 0, noutputs = 0, warmup = 0, iterations = 1;
    gen_args gen = {0};

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
        } else if (strcmp(a, "--generate") == 0) {
            NEED(3);
            gen.prompt_file = argv[++i];
            gen.steps = parse_u32(argv[++i], "bad STEPS");
            gen.tokens_file = argv[++i];
            if (gen.steps == 0) usage("STEPS must be at least 1", argv[i - 1]);
        } else if (strcmp(a, "--token") == 0) {
            NEED(3);
            parse_role(&gen.token, argv, &i, 1);
        } else if (strcmp(a, "--position") == 0) {
            NEED(3);
            parse_role(&gen.position, argv, &i, 1);
        } else if (strcmp(a, "--logits") == 0) {
            NEED(3);
            parse_role(&gen.logits, argv, &i, 0);
        } else if (strcmp(a, "--kv") == 0) {
            NEED(5);
            if (gen.nkv == MAX_ITEMS) usage("too many", a);
            kv_arg *kv = &gen.kv[gen.nkv++];
            kv->past.index = parse_u32(argv[++i], "bad --kv IN_INDEX");
            kv->past.name = argv[++i];
            kv->out_index = parse_u32(argv[++i], "bad --kv OUT_INDEX");
            kv->out_name = argv[++i];
            kv->past.ndims = parse_dims(argv[++i], kv->past.dims);
        } else if (strcmp(a, "--properties") == 0) {
            NEED(1);
            properties = argv[++i];
        } else {
            usage("unknown argument", a);
        }
    }
    if (by_name && !graph_name) usage("--load name needs --name", NULL);
    if (gen.prompt_file && (!gen.token.name || !gen.position.name || !gen.logits.name))
        usage("--generate needs --token, --position and --logits", NULL);
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

    if (gen.prompt_file) {
        FILE *f = samples ? open_out(samples) : NULL;
        if (f)
            fprintf(f, "wasi-nn-driver-samples 1\nload %llu\ninit %llu\n",
                    (unsigned long long)load_ns, (unsigned long long)init_ns);
        generate(ctx, &gen, warmup, iterations, f);
        if (f) close_out(f, samples);
        return 0;
    }

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
