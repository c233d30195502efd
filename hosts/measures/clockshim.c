/* clockshim.c: preloaded (LD_PRELOAD) into a host's process for `--measure cpu` and
 * `--measure instructions` (docs/measures.md).
 *
 * clock_gettime(CLOCK_MONOTONIC) answers with the process's CPU time
 * (CLOCK_PROCESS_CPUTIME_ID) when WASINN_CPU_CLOCK=1 is in the environment (every
 * thread: the wasmtime CLI, the native-c driver) or after wasinn_cpu_clock_thread(1) on
 * the calling thread (the wasmtime-py worker, whose other threads keep real time). So a
 * guest that times its phases with the WASI monotonic clock times them in CPU time,
 * on hosts that give the guest no CPU-time clock of its own.
 *
 * wasinn_callgrind_start() and wasinn_callgrind_dump() are callgrind client requests
 * (no-ops when not under valgrind, or when built without valgrind's headers): our Python
 * native host runs under `callgrind --instr-atstart=no`, turns instrumentation on just
 * before the round's first phase (its imports run at valgrind's uninstrumented speed)
 * and dumps the counters at each phase boundary.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <time.h>
#ifdef WASINN_HAVE_CALLGRIND
#include "callgrind.h"
#endif

typedef int (*clock_fn)(clockid_t, struct timespec *);

static __thread int thread_on;
static int process_on = -1;
static clock_fn real_clock;

void wasinn_cpu_clock_thread(int on) { thread_on = on; }

void wasinn_callgrind_start(void) {
#ifdef WASINN_HAVE_CALLGRIND
    CALLGRIND_START_INSTRUMENTATION;
#endif
}

void wasinn_callgrind_dump(void) {
#ifdef WASINN_HAVE_CALLGRIND
    CALLGRIND_DUMP_STATS;
#endif
}

int clock_gettime(clockid_t id, struct timespec *ts) {
    if (!real_clock) real_clock = (clock_fn)dlsym(RTLD_NEXT, "clock_gettime");
    if (process_on < 0) {
        const char *flag = getenv("WASINN_CPU_CLOCK");
        process_on = flag && flag[0] == '1';
    }
    if (id == CLOCK_MONOTONIC && (thread_on || process_on)) id = CLOCK_PROCESS_CPUTIME_ID;
    return real_clock(id, ts);
}
