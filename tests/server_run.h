// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * server_run.h - start qperceptd (env QP_SERVER) for the e2e suites that
 * test it, as a supervisor would: its own process, stderr into a log file,
 * ready once it answers a control ping; plus the clock, sleep, free-port,
 * stats, JSON, file, temp-dir and config helpers those suites share.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/json.h"
#include "qpercept/client.h"

/* CLOCK_MONOTONIC in milliseconds. */
static inline int64_t srv_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline void srv_sleep_us(long us)
{
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000L};
    nanosleep(&ts, NULL);
}

static inline void srv_sleep_ms(long ms)
{
    srv_sleep_us(ms * 1000L);
}

/* A loopback TCP port free a moment ago (the kernel's pick), or -1. */
static inline int srv_free_port(void)
{
    struct sockaddr_in a  = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t          n  = sizeof a;
    int                fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &n) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

/* In a child just forked from parent: die with it (with the thread that
 * forked, to be exact: the main thread in these suites), so that a test
 * process that dies (a crash, ThreadSanitizer's halt_on_error) leaves no
 * server or CLI behind holding ctest's output pipe until the timeout. */
static inline void srv_die_with_parent(pid_t parent)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) /* it died before the prctl */
        _exit(127);
}

/* Is the server process pid still running (not reaped)? */
static inline bool srv_alive(pid_t pid)
{
    int st;
    return pid > 0 && waitpid(pid, &st, WNOHANG) == 0;
}

/* Start qperceptd --config cfg with stderr into log; *pid is its process.
 * True once it answers a ping through ping's endpoint and keys (within
 * 120 s, while it runs; ping's timeout_ms is ignored). */
static inline bool srv_start_opts(pid_t *pid, const char *cfg, const char *log,
                                  const struct qp_ctl_opts *ping)
{
    const char *bin    = getenv("QP_SERVER");
    pid_t       parent = getpid();
    *pid               = fork();
    if (*pid == 0) {
        srv_die_with_parent(parent);
        FILE *lf = freopen(log, "w", stderr);
        (void)lf;
        if (bin) /* unset: the child exits 127, as for a bad path */
            execl(bin, "qperceptd", "--config", cfg, (char *)NULL);
        _exit(127);
    }
    if (*pid < 0)
        return false;
    struct qp_ctl_reply r = {0};
    for (int64_t end = srv_now_ms() + 120000; srv_now_ms() < end && srv_alive(*pid);) {
        struct qp_err      err = {{0}};
        struct qp_ctl_opts o   = *ping;
        o.timeout_ms           = 500;
        if (qp_ctl_request_opts(&o, QP_CTL_KIND_PING, NULL, &r, &err) == QP_OK && r.ok) {
            qp_ctl_reply_fini(&r);
            return true;
        }
        qp_ctl_reply_fini(&r);
        srv_sleep_ms(100);
    }
    return false;
}

/* srv_start_opts with a plain (no CURVE) control endpoint ctl. */
static inline bool srv_start(pid_t *pid, const char *cfg, const char *log, const char *ctl)
{
    struct qp_ctl_opts o = {.endpoint = ctl, .timeout_ms = 500};
    return srv_start_opts(pid, cfg, log, &o);
}

/* SIGTERM the server and wait up to timeout_ms for it to exit: its wait
 * status (*pid = 0 once reaped), or -1 when it is still running. */
static inline int srv_stop(pid_t *pid, int64_t timeout_ms)
{
    int st = -1;
    if (*pid <= 0 || kill(*pid, SIGTERM) != 0)
        return -1;
    for (int64_t end = srv_now_ms() + timeout_ms; srv_now_ms() < end; srv_sleep_ms(50))
        if (waitpid(*pid, &st, WNOHANG) == *pid) {
            *pid = 0;
            return st;
        }
    return -1;
}

/* SIGTERM the server: true when it drained and exited with status 0 within 30 s. */
static inline bool srv_stop_clean(pid_t *pid)
{
    int st = srv_stop(pid, 30000);
    return st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* Run sh -c cmd in its own process (a CLI under test, with its redirections): its pid. */
static inline pid_t srv_spawn_sh(const char *cmd)
{
    pid_t parent = getpid();
    pid_t pid    = fork();
    if (pid == 0) {
        srv_die_with_parent(parent);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    return pid;
}

/* Wait up to ms for pid: its exit status (128 + signal when killed), -1
 * when it is still running. */
static inline int srv_wait_exit(pid_t pid, int64_t ms)
{
    int st;
    for (int64_t end = srv_now_ms() + ms; srv_now_ms() < end; srv_sleep_ms(20))
        if (waitpid(pid, &st, WNOHANG) == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return -1;
}

/* Suite clean-up: a server still running is killed and reaped. */
static inline void srv_kill(pid_t *pid)
{
    if (*pid > 0 && srv_alive(*pid)) {
        kill(*pid, SIGKILL);
        waitpid(*pid, NULL, 0);
    }
    *pid = 0;
}

/* Suite clean-up: SIGTERM the server, and kill it when it has not exited
 * within timeout_ms (nothing when none was started). */
static inline void srv_end(pid_t *pid, int64_t timeout_ms)
{
    if (*pid > 0 && srv_stop(pid, timeout_ms) < 0)
        srv_kill(pid);
}

/* A subscriber to the Detections published at endpoint (default options)
 * into *out; false, said on stderr, when it cannot be made. */
static inline bool srv_subscribe(const char *endpoint, struct qp_sub **out)
{
    struct qp_err      err = {{0}};
    struct qp_sub_opts so  = QP_SUB_OPTS_DEFAULT;
    so.endpoint            = endpoint;
    if (qp_sub_new(&so, out, &err) == QP_OK)
        return true;
    fprintf(stderr, "subscriber: %s\n", err.msg);
    return false;
}

/* The server's stats JSON (`ctl stats` at ctl): its root, with the document
 * in *doc and the reply in *r for the caller to free (qp_json_free,
 * qp_ctl_reply_fini); NULL, said on stderr, when there is none. */
static inline const struct qp_json *srv_stats(const char *ctl, struct qp_json_doc **doc,
                                              struct qp_ctl_reply *r)
{
    struct qp_err err = {{0}};
    *doc              = NULL;
    if (qp_ctl_request(ctl, QP_CTL_KIND_STATS, NULL, 5000, r, &err) != QP_OK || !r->ok ||
        qp_json_parse(r->stats_json, r->stats_json_bytes, doc, &err) != QP_OK) {
        fprintf(stderr, "stats: %s %s\n", err.msg, r->error);
        return NULL;
    }
    return qp_json_root(*doc);
}

/* Number member k of the JSON object o; NAN when missing or not a number. */
static inline double srv_json_num(const struct qp_json *o, const char *k)
{
    const struct qp_json *v = qp_json_get(o, k);
    return v && v->type == QP_JSON_NUMBER ? v->v.num : NAN;
}

/* String member k of the JSON object o; "(none)" when missing or not a string. */
static inline const char *srv_json_str(const struct qp_json *o, const char *k)
{
    const struct qp_json *v = qp_json_get(o, k);
    return v && v->type == QP_JSON_STRING ? v->v.str : "(none)";
}

/* The whole file at path into a malloc'ed *out of *n bytes. */
static inline bool srv_read_file(const char *path, uint8_t **out, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    *out    = len >= 0 ? malloc((size_t)len) : NULL;
    bool ok = *out && fread(*out, 1, (size_t)len, f) == (size_t)len;
    fclose(f);
    *n = ok ? (size_t)len : 0;
    return ok;
}

/* A test server's files in a fresh temp dir: its config, log, and ipc://
 * control and detections endpoints. */
struct srv_paths {
    char dir[256], cfg[300], log[300], ctl[300], det[300];
};

/* Make the dir (/tmp/qp_test_NAME_XXXXXX) and the paths in it. */
static inline bool srv_paths_make(struct srv_paths *p, const char *name)
{
    snprintf(p->dir, sizeof p->dir, "/tmp/qp_test_%s_XXXXXX", name);
    if (!mkdtemp(p->dir)) {
        p->dir[0] = '\0';
        return false;
    }
    snprintf(p->cfg, sizeof p->cfg, "%s/qperceptd.conf", p->dir);
    snprintf(p->log, sizeof p->log, "%s/qperceptd.log", p->dir);
    snprintf(p->ctl, sizeof p->ctl, "ipc://%s/control", p->dir);
    snprintf(p->det, sizeof p->det, "ipc://%s/detections", p->dir);
    return true;
}

/* Remove the dir and everything in it; true when gone (or never made). */
static inline bool srv_paths_remove(const struct srv_paths *p)
{
    char cmd[400];
    if (!p->dir[0])
        return true;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", p->dir);
    return system(cmd) == 0;
}

/* The ipc:// endpoint NAME in p's dir into out (n bytes): where the config's
 * [stream.NAME] of srv_config_stream listens. */
static inline bool srv_paths_endpoint(const struct srv_paths *p, const char *name, char *out,
                                      size_t n)
{
    int k = snprintf(out, n, "ipc://%s/%s", p->dir, name);
    return k > 0 && (size_t)k < n;
}

/* Open path (p->cfg, or another config of the suite's) and write its
 * [server] section: p's control and detections endpoints, then fmt
 * (printf-style: the suite's other keys). The caller goes on with
 * srv_config_engine and srv_config_stream, and fcloses it. NULL when path
 * cannot be opened. */
static inline FILE *srv_config_open(const char *path, const struct srv_paths *p, const char *fmt,
                                    ...) QP_PRINTF(3, 4);
static inline FILE *srv_config_open(const char *path, const struct srv_paths *p, const char *fmt,
                                    ...)
{
    FILE *f = fopen(path, "w");
    if (f) {
        va_list ap;
        va_start(ap, fmt);
        fprintf(f, "[server]\ncontrol_endpoint = %s\npublish_endpoint = %s\n", p->ctl, p->det);
        vfprintf(f, fmt, ap);
        va_end(ap);
    }
    return f;
}

/* Write an [engine] of model on the CPU backend, one warm-up run, the
 * batch sizes given ("1,2,4"); the caller may add engine keys after it. */
static inline void srv_config_engine(FILE *f, const char *model, const char *batch_sizes)
{
    fprintf(f, "[engine]\npath = %s\nwarmup = 1\nbatch_sizes = %s\nbackend = cpu\n", model,
            batch_sizes);
}

/* srv_config_open (at p->cfg) and srv_config_engine of a server that runs
 * every frame at once as a batch of one (max_delay_us 0, batch_sizes 1) on
 * the CPU, frames up to max_frame_bytes kept up to 60 s, without watchdog
 * or metrics; the caller adds its streams and fcloses it. NULL when p->cfg
 * cannot be opened. */
static inline FILE *srv_config_open_unbatched(const struct srv_paths *p, const char *model,
                                              int max_frame_bytes)
{
    FILE *f = srv_config_open(p->cfg, p,
                              "max_delay_us = 0\nmax_age_ms = 60000\nmax_frame_bytes = %d\n"
                              "watchdog = off\nmetrics_port = 0\n",
                              max_frame_bytes);
    if (f)
        srv_config_engine(f, model, "1");
    return f;
}

/* Write [stream.NAME] on the endpoint srv_paths_endpoint(p, NAME) in mode
 * ("pull", "sub"), taking frames of width x height only when width > 0. */
static inline void srv_config_stream(FILE *f, const struct srv_paths *p, const char *name,
                                     const char *mode, int width, int height)
{
    fprintf(f, "[stream.%s]\nendpoint = ipc://%s/%s\nmode = %s\n", name, p->dir, name, mode);
    if (width > 0)
        fprintf(f, "width = %d\nheight = %d\n", width, height);
}
