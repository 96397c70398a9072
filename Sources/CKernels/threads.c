/* A pool of worker threads for the interpreter's kernels. One kernel splits into chunks that the
   caller and the workers take in turn; between kernels the workers spin for a few microseconds
   before they sleep, so the next kernel (often a few microseconds later) finds them awake. Waking
   sleeping threads for every kernel, as a general-purpose queue does, costs more than a small
   kernel's work. One job runs at a time; a caller that finds the pool busy runs its chunks
   itself. */
#include "kernels.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#define RELAX() __builtin_ia32_pause()
#elif defined(__aarch64__)
#define RELAX() __asm__ __volatile__("yield")
#else
#define RELAX() ((void)0)
#endif

/* How long a worker spins before it sleeps: longer than most kernels take, so that a model of
   small kernels (MobileNet's) keeps its workers awake, and short enough not to hold a core long
   after the last one. PAUSE takes from a few to over a hundred cycles depending on the
   processor, so the spin is timed, not counted. */
#define SPIN_NANOSECONDS 300000

static long long now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000000 + t.tv_nsec;
}

static pthread_mutex_t submitting = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t sleeping = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static int started;

static _Atomic unsigned long generation;

/* A job's chunks are claimed through one cursor that holds the job's number and its next chunk,
   and each job's fields sit in one of two slots by its number's parity. A worker that was
   delayed between two jobs thus cannot claim a chunk with one job's count and another's
   function: a claim succeeds only while the cursor still names the job whose slot it read, and
   that slot is rewritten only two jobs later, after the cursor has moved on. */
struct job {
    _Atomic(h5t_chunk_function) function;
    _Atomic(void *) context;
    _Atomic unsigned chunks;
};
static struct job jobs[2];
static _Atomic unsigned long long cursor;
static _Atomic unsigned finished_chunks;

/* Takes chunks of the current job until none is left. */
static void take_chunks(void) {
    unsigned long long claim = atomic_load(&cursor);
    for (;;) {
        struct job *job = &jobs[(claim >> 32) & 1];
        h5t_chunk_function function = atomic_load(&job->function);
        void *context = atomic_load(&job->context);
        unsigned chunk = (unsigned)claim;
        if (chunk >= atomic_load(&job->chunks)) return;
        /* On failure `claim` is reloaded and the slot read again. */
        if (!atomic_compare_exchange_weak(&cursor, &claim, claim + 1)) continue;
        function(context, (int)chunk);
        atomic_fetch_add(&finished_chunks, 1);
        claim = atomic_load(&cursor);
    }
}

static void *work(void *unused) {
    (void)unused;
    unsigned long seen = atomic_load(&generation);
    for (;;) {
        long long deadline = now() + SPIN_NANOSECONDS;
        for (int spin = 1; atomic_load(&generation) == seen; spin++) {
            if (spin % 256 != 0) {
                RELAX();
                continue;
            }
            /* Now and then, the core goes to any other thread that wants it: with more threads
               than cores, a spinning worker would otherwise hold up the thread it waits for. */
            if (now() < deadline) {
                sched_yield();
                continue;
            }
            pthread_mutex_lock(&sleeping);
            while (atomic_load(&generation) == seen) pthread_cond_wait(&wake, &sleeping);
            pthread_mutex_unlock(&sleeping);
        }
        seen = atomic_load(&generation);
        take_chunks();
    }
    return NULL;
}

/* Starts workers until `count` run (under `submitting`). */
static void start_workers(int count) {
    for (; started < count; started++) {
        pthread_t thread;
        pthread_attr_t attributes;
        pthread_attr_init(&attributes);
        pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
        int failed = pthread_create(&thread, &attributes, work, NULL);
        pthread_attr_destroy(&attributes);
        if (failed) return;
    }
}

void h5t_parallel(int chunks, int threads, h5t_chunk_function function, void *context) {
    if (chunks <= 1 || threads <= 1 || pthread_mutex_trylock(&submitting) != 0) {
        for (int chunk = 0; chunk < chunks; chunk++) function(context, chunk);
        return;
    }
    start_workers(threads - 1);
    unsigned long long number = (atomic_load(&cursor) >> 32) + 1;
    struct job *job = &jobs[number & 1];
    atomic_store(&job->function, function);
    atomic_store(&job->context, context);
    atomic_store(&job->chunks, (unsigned)chunks);
    atomic_store(&finished_chunks, 0);
    atomic_store(&cursor, number << 32);
    pthread_mutex_lock(&sleeping);
    atomic_fetch_add(&generation, 1);
    pthread_cond_broadcast(&wake);
    pthread_mutex_unlock(&sleeping);
    take_chunks();
    for (int spin = 1; atomic_load(&finished_chunks) < (unsigned)chunks; spin++) {
        if (spin % 256 == 0) sched_yield(); else RELAX();
    }
    pthread_mutex_unlock(&submitting);
}
