/* Helpers shared by the C test programs (define _POSIX_C_SOURCE before including). A
 * program may define its own CHECK first, e.g. to name the case that failed. */
#ifndef FTAPI_TEST_UTIL_H
#define FTAPI_TEST_UTIL_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#ifdef _WIN32
/* Windows (MinGW, run under Wine by tests/platforms): winsock for the tests that open a
 * socket themselves; nanosleep and clock_gettime come from MinGW's winpthreads. */
#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
#else
#include <signal.h>
#include <unistd.h>
#endif

/* The OS's error numbers as the library reports them in the low word of a code: its
 * sockets' own (winsock's on Windows, errno values elsewhere). */
#ifdef _WIN32
#define TEST_ECONNREFUSED 10061 /* WSAECONNREFUSED */
#define TEST_ECONNRESET 10054   /* WSAECONNRESET */
#define TEST_ETIMEDOUT 10060    /* WSAETIMEDOUT */
#else
#define TEST_ECONNREFUSED ECONNREFUSED
#define TEST_ECONNRESET ECONNRESET
#define TEST_ETIMEDOUT ETIMEDOUT
#endif

#ifndef CHECK
#define CHECK(cond)                                                              \
    do {                                                                         \
        if (!(cond)) {                                                           \
            fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);      \
            exit(1);                                                             \
        }                                                                        \
    } while (0)
#endif

static inline void sleep_ms(long ms) {
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&t, &t) != 0 && errno == EINTR) {
    }
}

/* Monotonic milliseconds. */
static inline long now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000L + t.tv_nsec / 1000000L;
}

/* Calls on_fire (which reports and exits) if the program still runs after `secs` seconds:
 * a hang becomes a clear failure. SIGALRM on POSIX, a sleeping thread on Windows. */
#ifdef _WIN32
static void (*test_watchdog_fire)(int);
static DWORD WINAPI test_watchdog_thread(LPVOID secs) {
    Sleep((DWORD)(UINT_PTR)secs * 1000);
    test_watchdog_fire(0);
    return 0;
}
static inline void watchdog(unsigned secs, void (*on_fire)(int)) {
    test_watchdog_fire = on_fire;
    HANDLE t = CreateThread(NULL, 0, test_watchdog_thread, (LPVOID)(UINT_PTR)secs, 0, NULL);
    if (t) CloseHandle(t);
}
#else
static inline void watchdog(unsigned secs, void (*on_fire)(int)) {
    signal(SIGALRM, on_fire);
    alarm(secs);
}
#endif

#endif
