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
static _Atomic(h5t_chunk_function) job_function;
static _Atomic(void *) job_context;
static _Atomic int job_chunks;
static _Atomic int next_chunk;
static _Atomic int finished_chunks;

/* Takes chunks of the current job until none is left. The job's fields are read after the
   fetch that claims a chunk, which orders them after the caller published them. */
static void take_chunks(void) {
    for (;;) {
        int chunk = atomic_fetch_add(&next_chunk, 1);
        if (chunk >= atomic_load(&job_chunks)) return;
        atomic_load(&job_function)(atomic_load(&job_context), chunk);
        atomic_fetch_add(&finished_chunks, 1);
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
    atomic_store(&job_function, function);
    atomic_store(&job_context, context);
    atomic_store(&job_chunks, chunks);
    atomic_store(&finished_chunks, 0);
    atomic_store(&next_chunk, 0);
    pthread_mutex_lock(&sleeping);
    atomic_fetch_add(&generation, 1);
    pthread_cond_broadcast(&wake);
    pthread_mutex_unlock(&sleeping);
    take_chunks();
    for (int spin = 1; atomic_load(&finished_chunks) < chunks; spin++) {
        if (spin % 256 == 0) sched_yield(); else RELAX();
    }
    pthread_mutex_unlock(&submitting);
}
