// SPDX-License-Identifier: Apache-2.0
/*
 * test_server_notify.c - qperceptd and systemd's notify protocol
 * (server/notify.c), with the test as systemd: it binds the datagram
 * socket $NOTIFY_SOCKET names, sets $WATCHDOG_USEC as WatchdogSec= would,
 * and reads what the server says, with the sender's credentials
 * (NotifyAccess=main: every message must come from the server's own pid).
 * The tiny detector (tiny_detector.h) on the CPU, env QP_SERVER.
 *   - READY=1 once, after "STATUS=starting: loading engine ..." and before
 *     the control socket answers; STATUS= lines while frames are served;
 *     SIGTERM: STOPPING=1, nothing after it, exit 0. watchdog = off sends
 *     no WATCHDOG=1 even when systemd asks for it.
 *   - An idle server keeps the watchdog fed by canary inferences: pings at
 *     least half an interval apart and never a whole interval apart.
 *   - A wedged inference ($QPERCEPTD_FAULT_SHM_PAUSE holds the worker in a
 *     batch) stops the pings for longer than the interval, so systemd
 *     would kill it, while the control socket still answers; the pings
 *     come back when the batch finishes.
 *   - A sticky device error ($QPERCEPTD_FAULT_INFERENCE = 2+: the second
 *     canary fails, the probe too): no ping after it, "STOPPING=1" and
 *     "STATUS=failed while serving: ..." naming the fault, exit status 3.
 *   - A start-up that fails (a missing engine file; watchdog = on without
 *     WatchdogSec=): no READY=1, "STATUS=failed at start-up: ..." naming
 *     the cause, exit status 1.
 * Every wait is bounded. Without QP_SERVER: skipped.
 */
#define _GNU_SOURCE /* struct ucred, SO_PASSCRED, mkdtemp, setenv */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "qp_test.h"
#include "qpercept/client.h"
#include "server_run.h"
#include "tiny_detector.h"

#define MAX_MSGS 512
#define INL "cam"     /* inline pixels, pull */
#define SHM "shm"     /* shared-memory ring, pull */
#define WD_US 2000000 /* WatchdogSec=2s: pings every >= 1 s, canaries every 0.5 s */

/* One datagram the server sent: its text, sender pid, arrival (ms). */
struct note {
    char    text[512];
    pid_t   pid;
    int64_t t_ms;
};

static struct {
    bool             ok;
    struct srv_paths p;
    char             model[300], sidecar[320], sock[300], ep[2][300], bad_cfg[300];
    int              fd; /* the notify socket, bound */
    pid_t            pid;
    struct note      msgs[MAX_MSGS];
    int              n;
    uint8_t          px[TINY_SIDE * TINY_SIDE * 3];
    unsigned         fails; /* CUnit's failure count when the test began */
} T = {.fd = -1};

static bool write_config(const char *path, const char *watchdog, const char *model)
{
    FILE *f = srv_config_open(path, &T.p,
                              "max_delay_us = 0\nmax_age_ms = 60000\nmax_frame_bytes = %d\n"
                              "watchdog = %s\nmetrics_port = 0\nlog_level = info\n",
                              2 * (int)sizeof T.px, watchdog); /* the message's cap */
    if (!f)
        return false;
    srv_config_engine(f, model, "1");
    fprintf(f, "threads = 1\n");
    srv_config_stream(f, &T.p, INL, "pull", TINY_SIDE, TINY_SIDE);
    fprintf(f, "[stream.%s]\nendpoint = %s\nmode = pull\ntransport = shm\n", SHM, T.ep[1]);
    return fclose(f) == 0;
}

static int suite_init(void)
{
    if (!getenv("QP_SERVER"))
        return 0;
    if (!srv_paths_make(&T.p, "notify"))
        return 1;
    snprintf(T.model, sizeof T.model, "%s/tiny.onnx", T.p.dir);
    snprintf(T.sidecar, sizeof T.sidecar, "%s/tiny.onnx.ini", T.p.dir);
    snprintf(T.sock, sizeof T.sock, "%s/notify", T.p.dir);
    snprintf(T.bad_cfg, sizeof T.bad_cfg, "%s/bad.conf", T.p.dir);
    if (!srv_paths_endpoint(&T.p, INL, T.ep[0], sizeof T.ep[0]) ||
        !srv_paths_endpoint(&T.p, SHM, T.ep[1], sizeof T.ep[1]) ||
        !tiny_detector_write(T.model, T.sidecar))
        return 1;
    for (size_t i = 0; i < sizeof T.px; i++)
        T.px[i] = (uint8_t)(i * 7);

    struct sockaddr_un a   = {.sun_family = AF_UNIX};
    int                one = 1;
    if (strlen(T.sock) >= sizeof a.sun_path)
        return 1;
    memcpy(a.sun_path, T.sock, strlen(T.sock) + 1);
    T.fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (T.fd < 0 || bind(T.fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        setsockopt(T.fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof one) != 0)
        return 1;
    T.ok = true;
    return 0;
}

static int suite_clean(void)
{
    srv_kill(&T.pid);
    if (T.fd >= 0)
        close(T.fd);
    return srv_paths_remove(&T.p) ? 0 : 1;
}

#define NEED_SERVER()                                                                              \
    do {                                                                                           \
        if (!T.ok)                                                                                 \
            QP_TEST_SKIP("QP_SERVER not set");                                                     \
        QP_TEST_RAN();                                                                             \
        T.fails = CU_get_number_of_failures();                                                     \
    } while (0)

/* ===== The systemd side ===== */

/* Read every datagram that arrives within ms (0: only those waiting) into
 * T.msgs, each with its sender's pid and arrival time. */
static void notes_read(int64_t ms)
{
    for (int64_t end = srv_now_ms() + ms;;) {
        int64_t       left = end - srv_now_ms();
        struct pollfd pfd  = {T.fd, POLLIN, 0};
        if (poll(&pfd, 1, left > 0 ? (int)left : 0) <= 0)
            return;
        union {
            char           buf[CMSG_SPACE(sizeof(struct ucred))];
            struct cmsghdr align;
        } ctl;
        struct note  *m   = &T.msgs[T.n < MAX_MSGS ? T.n : MAX_MSGS - 1];
        struct iovec  iov = {m->text, sizeof m->text - 1};
        struct msghdr h   = {.msg_iov        = &iov,
                             .msg_iovlen     = 1,
                             .msg_control    = ctl.buf,
                             .msg_controllen = sizeof ctl.buf};
        ssize_t       k   = recvmsg(T.fd, &h, MSG_DONTWAIT);
        if (k < 0)
            continue;
        m->text[k] = '\0';
        m->t_ms    = srv_now_ms();
        m->pid     = -1;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&h); c; c = CMSG_NXTHDR(&h, c))
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
                struct ucred u;
                memcpy(&u, CMSG_DATA(c), sizeof u);
                m->pid = u.pid;
            }
        if (T.n < MAX_MSGS)
            T.n++;
    }
}

/* Does message m hold the line `line` (a whole line, "KEY=value")? */
static bool has_line(const struct note *m, const char *line)
{
    size_t n = strlen(line);
    for (const char *s = m->text; s; s = strchr(s, '\n') ? strchr(s, '\n') + 1 : NULL)
        if (strncmp(s, line, n) == 0 && (s[n] == '\n' || s[n] == '\0'))
            return true;
    return false;
}

/* The index of the first message from i on with a line starting with
 * prefix ("STATUS=serving"); -1 when none. */
static int find_prefix(int from, const char *prefix)
{
    for (int i = from; i < T.n; i++)
        for (const char *s = T.msgs[i].text; s; s = strchr(s, '\n') ? strchr(s, '\n') + 1 : NULL)
            if (strncmp(s, prefix, strlen(prefix)) == 0)
                return i;
    return -1;
}

/* How many messages hold the line `line`. */
static int count_line(const char *line)
{
    int k = 0;
    for (int i = 0; i < T.n; i++)
        k += has_line(&T.msgs[i], line);
    return k;
}

/* Every message came from pid (NotifyAccess=main). */
static bool all_from(pid_t pid)
{
    for (int i = 0; i < T.n; i++)
        if (T.msgs[i].pid != pid) {
            fprintf(stderr, "message %d from pid %d, not the server's %d: %s\n", i,
                    (int)T.msgs[i].pid, (int)pid, T.msgs[i].text);
            return false;
        }
    return true;
}

/* Pings (WATCHDOG=1) from message from on: their count, and the least and
 * greatest gap between two of them (ms); *last is the last one's time. */
static int pings(int from, int64_t *min_gap, int64_t *max_gap, int64_t *last)
{
    int     k    = 0;
    int64_t prev = -1;
    *min_gap     = INT64_MAX;
    *max_gap     = 0;
    for (int i = from; i < T.n; i++) {
        if (!has_line(&T.msgs[i], "WATCHDOG=1"))
            continue;
        if (prev >= 0) {
            int64_t g = T.msgs[i].t_ms - prev;
            *min_gap  = g < *min_gap ? g : *min_gap;
            *max_gap  = g > *max_gap ? g : *max_gap;
        }
        prev = T.msgs[i].t_ms;
        k++;
    }
    if (last)
        *last = prev;
    return k;
}

/* Show what the server said when the test failed (since NEED_SERVER). */
static void notes_dump_if_failed(void)
{
    if (CU_get_number_of_failures() == T.fails)
        return;
    for (int i = 0; i < T.n; i++)
        fprintf(stderr, "  +%lld ms pid %d: %s\n", (long long)(T.msgs[i].t_ms - T.msgs[0].t_ms),
                (int)T.msgs[i].pid, T.msgs[i].text);
}

/* The environment systemd gives its service: $NOTIFY_SOCKET, and
 * $WATCHDOG_USEC when wd_us > 0. T.msgs starts empty, stale datagrams
 * dropped. */
static void env_systemd(long wd_us)
{
    char v[32];
    notes_read(0);
    T.n = 0;
    setenv("NOTIFY_SOCKET", T.sock, 1);
    unsetenv("WATCHDOG_PID");
    if (wd_us > 0) {
        snprintf(v, sizeof v, "%ld", wd_us);
        setenv("WATCHDOG_USEC", v, 1);
    } else {
        unsetenv("WATCHDOG_USEC");
    }
}

static void env_clear(void)
{
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    unsetenv("QPERCEPTD_FAULT_SHM_PAUSE");
    unsetenv("QPERCEPTD_FAULT_INFERENCE");
}

/* Start qperceptd --config cfg (stderr into the log) without waiting for it. */
static pid_t spawn(const char *cfg)
{
    pid_t parent = getpid();
    pid_t pid    = fork();
    if (pid == 0) {
        srv_die_with_parent(parent);
        FILE *lf = freopen(T.p.log, "w", stderr);
        (void)lf;
        const char *bin = getenv("QP_SERVER"); /* checked in suite_init */
        if (bin)
            execl(bin, "qperceptd", "--config", cfg, (char *)NULL);
        _exit(127);
    }
    return pid;
}

/* ===== Tests ===== */

/* Start a server (T.pid; its pid returned) with the watchdog setting, as
 * systemd would with WatchdogSec= of wd_us, and $QPERCEPTD_FAULT_SHM_PAUSE
 * = pause unless NULL; it answers its control socket. */
static pid_t start(const char *watchdog, long wd_us, const char *pause)
{
    CU_ASSERT_FATAL(write_config(T.p.cfg, watchdog, T.model));
    env_systemd(wd_us);
    if (pause)
        setenv("QPERCEPTD_FAULT_SHM_PAUSE", pause, 1);
    bool up = srv_start(&T.pid, T.p.cfg, T.p.log, T.p.ctl);
    env_clear();
    CU_ASSERT_FATAL(up);
    return T.pid;
}

/* SIGTERM: it exits 0, and everything it said came from pid. */
static void stop(pid_t pid)
{
    CU_ASSERT(srv_stop_clean(&T.pid));
    notes_read(200);
    CU_ASSERT(all_from(pid));
    notes_dump_if_failed();
}

static void send_inline(struct qp_pub *pub)
{
    struct qp_frame_out f = {TINY_SIDE,   TINY_SIDE, TINY_SIDE * 3, QP_FRAME_FORMAT_BGR8, T.px,
                             sizeof T.px, 0,         NULL};
    struct qp_err       err;
    CU_ASSERT(qp_pub_send(pub, &f, &err) == QP_OK);
}

static struct qp_pub *new_pub(int k)
{
    struct qp_pub_opts o = QP_PUB_OPTS_DEFAULT;
    struct qp_pub     *p = NULL;
    struct qp_err      err;
    o.endpoint        = T.ep[k];
    o.stream          = k == 0 ? INL : SHM;
    o.kind            = QP_PUB_KIND_PUSH;
    o.max_frame_bytes = sizeof T.px;
    o.shm_slots       = k == 1 ? 4 : 0;
    if (qp_pub_new(&o, &p, &err) != QP_OK)
        fprintf(stderr, "publisher: %s\n", err.msg);
    return p;
}

static void test_ready_status_stopping(void)
{
    NEED_SERVER();
    pid_t pid = start("off", 200000, NULL); /* systemd asks, watchdog = off */
    notes_read(0); /* the control socket answered: READY=1 is already here */
    int ready = T.n;
    for (int i = 0; i < T.n; i++)
        if (has_line(&T.msgs[i], "READY=1"))
            ready = i;
    CU_ASSERT_FATAL(ready < T.n);
    CU_ASSERT(find_prefix(0, "STATUS=starting: loading engine ") == 0 && ready > 0);
    CU_ASSERT(find_prefix(ready, "STATUS=serving 2 streams, model ") == ready);

    /* frames for 1.5 s: a STATUS= line with the last batch (at most one a second) */
    struct qp_pub *pub = new_pub(0);
    CU_ASSERT_FATAL(pub != NULL);
    for (int64_t end = srv_now_ms() + 1500; srv_now_ms() < end;) {
        send_inline(pub);
        notes_read(20);
    }
    qp_pub_free(pub);
    int batch = find_prefix(ready + 1, "STATUS=serving 2 streams; last batch 1 frame in ");
    CU_ASSERT(batch > ready);

    /* SIGTERM: STOPPING=1, exit 0, nothing after STOPPING */
    stop(pid);
    int stopping = -1;
    for (int i = 0; i < T.n; i++)
        if (has_line(&T.msgs[i], "STOPPING=1"))
            stopping = i;
    CU_ASSERT(stopping == T.n - 1 && count_line("STOPPING=1") == 1);
    CU_ASSERT(stopping >= 0 && has_line(&T.msgs[stopping], "STATUS=draining"));
    CU_ASSERT(count_line("READY=1") == 1);
    CU_ASSERT(count_line("WATCHDOG=1") == 0);
    notes_dump_if_failed();
}

static void test_watchdog_idle(void)
{
    NEED_SERVER();
    pid_t pid = start("auto", WD_US, NULL);
    notes_read(0); /* those sent before the control socket answered: stamped late */
    int from = T.n;
    notes_read(5500); /* no frames: canaries only */
    int64_t min_gap, max_gap;
    int     n = pings(from, &min_gap, &max_gap, NULL);
    fprintf(stderr, "\nidle, WatchdogSec=%.1fs: %d pings in 5.5 s, gaps %lld..%lld ms\n",
            WD_US / 1e6, n, (long long)min_gap, (long long)max_gap);
    CU_ASSERT(n >= 3);
    /* at most every half interval (less the test's own scheduling), never a whole one */
    CU_ASSERT(min_gap >= WD_US / 2000 - 100);
    CU_ASSERT(max_gap < WD_US / 1000);

    struct qp_json_doc   *doc = NULL;
    struct qp_ctl_reply   r   = {0};
    const struct qp_json *s   = srv_stats(T.p.ctl, &doc, &r);
    CU_ASSERT(s && srv_json_num(s, "canaries") >= n);
    qp_json_free(doc);
    qp_ctl_reply_fini(&r);
    stop(pid);
}

static void test_watchdog_wedged(void)
{
    enum { PAUSE_MS = 5000 };
    NEED_SERVER();
    char pause[64];
    snprintf(pause, sizeof pause, "%s:%d", SHM, PAUSE_MS);
    pid_t pid = start("auto", WD_US, pause);
    notes_read(0);    /* stamped late: the last ping's time is an upper bound */
    notes_read(1500); /* fed by canaries */
    int64_t min_gap, max_gap, last;
    CU_ASSERT_FATAL(pings(0, &min_gap, &max_gap, &last) >= 1);

    /* one shm frame: the worker holds its batch PAUSE_MS */
    struct qp_pub *pub = new_pub(1);
    CU_ASSERT_FATAL(pub != NULL);
    struct qp_frame_out f = {TINY_SIDE,   TINY_SIDE, TINY_SIDE * 3, QP_FRAME_FORMAT_BGR8, T.px,
                             sizeof T.px, 0,         NULL};
    struct qp_err       err;
    int                 from = T.n;
    int64_t             sent = srv_now_ms();
    CU_ASSERT_FATAL(qp_pub_send(pub, &f, &err) == QP_OK);
    /* the loop still answers while the worker is stuck; no ping all along */
    int answered = 0;
    for (int i = 0; i < 4; i++) {
        notes_read(800);
        struct qp_ctl_reply r = {0};
        answered +=
            qp_ctl_request(T.p.ctl, QP_CTL_KIND_PING, NULL, 1000, &r, &err) == QP_OK && r.ok;
        qp_ctl_reply_fini(&r);
    }
    int64_t wedged_until = srv_now_ms();
    CU_ASSERT(answered == 4);
    CU_ASSERT(wedged_until - sent < PAUSE_MS); /* still inside the pause */
    CU_ASSERT(pings(from, &min_gap, &max_gap, NULL) == 0);
    /* silent for longer than WatchdogSec: systemd would have killed it */
    CU_ASSERT(wedged_until - last > WD_US / 1000);

    /* the batch ends: its frame is served and the pings come back */
    notes_read(sent + PAUSE_MS + 3000 - srv_now_ms());
    int64_t resumed;
    CU_ASSERT(pings(from, &min_gap, &max_gap, &resumed) >= 1);
    CU_ASSERT(resumed >= sent + PAUSE_MS - 100);
    qp_pub_free(pub);

    struct qp_json_doc   *doc = NULL;
    struct qp_ctl_reply   r   = {0};
    const struct qp_json *s   = srv_stats(T.p.ctl, &doc, &r);
    const struct qp_json *st  = s ? qp_json_get(qp_json_get(s, "streams"), SHM) : NULL;
    CU_ASSERT(st && srv_json_num(st, "published") == 1);
    qp_json_free(doc);
    qp_ctl_reply_fini(&r);
    stop(pid);
}

static void test_sticky_error(void)
{
    NEED_SERVER();
    CU_ASSERT_FATAL(write_config(T.p.cfg, "auto", T.model));
    env_systemd(WD_US);
    setenv("QPERCEPTD_FAULT_INFERENCE", "2+", 1); /* the first canary passes, the next fails */
    T.pid = spawn(T.p.cfg);
    env_clear();
    CU_ASSERT_FATAL(T.pid > 0);
    pid_t pid = T.pid;
    int   rc  = srv_wait_exit(T.pid, 60000);
    if (rc >= 0)
        T.pid = 0;
    CU_ASSERT(rc == 3);
    notes_read(200);
    int failed = find_prefix(0, "STATUS=failed while serving: injected device fault (inference 2)");
    CU_ASSERT(failed == T.n - 1);
    CU_ASSERT(failed >= 0 && has_line(&T.msgs[failed], "STOPPING=1"));
    int64_t min_gap, max_gap;
    CU_ASSERT(count_line("READY=1") == 1);
    CU_ASSERT(pings(0, &min_gap, &max_gap, NULL) == 1); /* the good canary's only */
    CU_ASSERT(all_from(pid));
    notes_dump_if_failed();
}

/* A server of config cfg fails start-up: exit 1, no READY=1, and the
 * last message is STOPPING=1 with a STATUS= holding want. */
static void start_fails(const char *cfg, long wd_us, const char *want)
{
    env_systemd(wd_us);
    pid_t pid = spawn(cfg);
    env_clear();
    CU_ASSERT_FATAL(pid > 0);
    int rc = srv_wait_exit(pid, 60000);
    if (rc < 0)
        srv_kill(&pid);
    CU_ASSERT(rc == 1);
    notes_read(200);
    CU_ASSERT(count_line("READY=1") == 0);
    int failed = find_prefix(0, "STATUS=failed at start-up: ");
    CU_ASSERT(failed >= 0 && failed == T.n - 1 && has_line(&T.msgs[failed], "STOPPING=1"));
    CU_ASSERT(failed >= 0 && strstr(T.msgs[failed].text, want) != NULL);
    CU_ASSERT(all_from(pid));
    notes_dump_if_failed();
}

static void test_start_fails(void)
{
    char missing[400];
    NEED_SERVER();
    snprintf(missing, sizeof missing, "%s/no-such-model.qpe", T.p.dir);
    CU_ASSERT_FATAL(write_config(T.bad_cfg, "auto", missing));
    start_fails(T.bad_cfg, 0, missing);
    CU_ASSERT_FATAL(write_config(T.bad_cfg, "on", T.model));
    start_fails(T.bad_cfg, 0, "watchdog = on, but systemd set no watchdog (WatchdogSec=)");
}

static CU_TestInfo tests[] = {
    {"READY=1 after loading, STATUS= while serving, STOPPING=1 on SIGTERM",
     test_ready_status_stopping},
    {"idle: canaries keep the watchdog fed, half an interval apart", test_watchdog_idle},
    {"a wedged inference stops the pings; the loop still answers", test_watchdog_wedged},
    {"a sticky device error: no ping after it, STATUS=failed, exit 3", test_sticky_error},
    {"a failed start-up: no READY=1, STATUS=failed names the cause", test_start_fails},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"server_notify", suite_init, suite_clean, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

QP_TEST_MAIN(suites)
