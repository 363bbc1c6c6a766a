// The benchmark's small-message and idle-connection tool: an echo server, a ping-pong client
// and a connection holder, in C with epoll so the load generator costs far less CPU than the
// balancer it measures and adds no GC pauses to the latency percentiles. The bench compiles
// it on the fly (gcc -O2), so nothing prebuilt is fetched.
//
//   tcptool echo PORT [PORT...]              echo server on 127.0.0.1
//   tcptool sink PORT [PORT...]              discard server (the bulk backend: iperf 2.1.8's
//                                             own server corrupts its heap when several
//                                             streams from one address come and go)
//   tcptool pingpong PORT CONNS SECONDS SIZE  CONNS connections, each SIZE-byte ping-pong for
//                                             SECONDS; prints one JSON line
//   tcptool hold PORT CONNS                   opens CONNS connections, one SIZE=32 echo each,
//                                             prints "ready N" and holds them until stdin closes
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what) {
  perror(what);
  exit(2);
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void raise_nofile(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

static struct sockaddr_in loopback(int port) {
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

static void nodelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

// ---- echo server --------------------------------------------------------------------------

// Per-connection state: bytes read but not yet written back (a short write parks them here
// and stops reading until they are gone, so a slow client cannot make us buffer without end).
typedef struct {
  int fd;
  int listener;
  size_t pending_off, pending_len;
  char *pending;
} echo_conn;

__attribute__((noreturn)) static void run_echo(int nports, char **ports, int discard) {
  int ep = epoll_create1(0);
  if (ep < 0) die("epoll_create1");
  for (int i = 0; i < nports; i++) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = loopback(atoi(ports[i]));
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) die("bind");
    if (listen(fd, 4096) < 0) die("listen");
    echo_conn *c = calloc(1, sizeof *c);
    c->fd = fd;
    c->listener = 1;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  }
  static char buf[262144];
  struct epoll_event evs[256];
  for (;;) {
    int n = epoll_wait(ep, evs, 256, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    for (int i = 0; i < n; i++) {
      echo_conn *c = evs[i].data.ptr;
      if (c->listener) {
        for (;;) {
          int fd = accept4(c->fd, NULL, NULL, SOCK_NONBLOCK);
          if (fd < 0) break;
          nodelay(fd);
          echo_conn *nc = calloc(1, sizeof *nc);
          nc->fd = fd;
          struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = nc};
          epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
        }
        continue;
      }
      int closed = 0;
      if (c->pending_len > 0) {  // EPOLLOUT: finish the parked write first
        ssize_t w = write(c->fd, c->pending + c->pending_off, c->pending_len);
        if (w < 0 && errno != EAGAIN) closed = 1;
        if (w > 0) {
          c->pending_off += (size_t)w;
          c->pending_len -= (size_t)w;
        }
        if (!closed && c->pending_len == 0) {
          struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = c};
          epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
        }
      } else {
        ssize_t r = read(c->fd, buf, sizeof buf);
        if (r <= 0) {
          if (r == 0 || errno != EAGAIN) closed = 1;
        } else if (!discard) {
          ssize_t w = write(c->fd, buf, (size_t)r);
          if (w < 0) {
            if (errno != EAGAIN) closed = 1;
            w = 0;
          }
          if (!closed && w < r) {
            c->pending = realloc(c->pending, (size_t)(r - w));
            memcpy(c->pending, buf + w, (size_t)(r - w));
            c->pending_off = 0;
            c->pending_len = (size_t)(r - w);
            struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
            epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
          }
        }
      }
      if (closed) {
        close(c->fd);  // also removes it from the epoll set
        free(c->pending);
        free(c);
      }
    }
  }
}

// ---- clients ------------------------------------------------------------------------------

typedef struct {
  int fd;
  int got;          // bytes of the current echo received
  uint64_t sent_at; // when the current ping left
  int state;        // 0 connecting, 1 waiting for echo, 2 done (hold mode)
} client_conn;

static int open_nonblocking(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  nodelay(fd);
  struct sockaddr_in a = loopback(port);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0 && errno != EINPROGRESS) {
    close(fd);
    return -1;
  }
  return fd;
}

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

// One ping in flight per connection, always: the rate is round trips per second and every
// round trip's latency is kept (as ns in a uint32) for exact percentiles.
static int run_pingpong(int port, int conns, double seconds, int size) {
  int ep = epoll_create1(0);
  client_conn *cs = calloc((size_t)conns, sizeof *cs);
  char *msg = malloc((size_t)size), *buf = malloc(65536);
  memset(msg, 'p', (size_t)size);
  size_t cap = 1 << 20, nsamples = 0;
  uint32_t *samples = malloc(cap * sizeof *samples);
  long errors = 0;
  for (int i = 0; i < conns; i++) {
    cs[i].fd = open_nonblocking(port);
    if (cs[i].fd < 0) die("connect");
    struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = &cs[i]};
    epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev);
  }
  uint64_t start = now_ns(), end = start + (uint64_t)(seconds * 1e9);
  int live = conns;
  struct epoll_event evs[256];
  while (live > 0) {
    uint64_t t = now_ns();
    if (t >= end) break;
    int n = epoll_wait(ep, evs, 256, (int)((end - t) / 1000000) + 1);
    for (int i = 0; i < n; i++) {
      client_conn *c = evs[i].data.ptr;
      if (c->state == 0) {  // connected: switch to reading, send the first ping
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err) {
          errors++;
          live--;
          epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
          continue;
        }
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
        c->state = 1;
        c->sent_at = now_ns();
        if (write(c->fd, msg, (size_t)size) != size) errors++;
        continue;
      }
      ssize_t r = read(c->fd, buf, 65536);
      if (r <= 0) {
        if (r < 0 && errno == EAGAIN) continue;
        errors++;
        live--;
        epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
        continue;
      }
      c->got += (int)r;
      if (c->got < size) continue;
      uint64_t now = now_ns();
      if (nsamples == cap) samples = realloc(samples, (cap *= 2) * sizeof *samples);
      uint64_t lat = now - c->sent_at;
      samples[nsamples++] = lat > UINT32_MAX ? UINT32_MAX : (uint32_t)lat;
      c->got -= size;
      c->sent_at = now;
      if (write(c->fd, msg, (size_t)size) != size) errors++;
    }
  }
  double elapsed = (double)(now_ns() - start) / 1e9;
  qsort(samples, nsamples, sizeof *samples, cmp_u32);
  double p50 = nsamples ? samples[nsamples / 2] / 1000.0 : 0;
  double p99 = nsamples ? samples[(size_t)((double)nsamples * 0.99)] / 1000.0 : 0;
  printf("{\"roundTrips\":%zu,\"seconds\":%.3f,\"rate\":%.1f,\"p50Us\":%.1f,\"p99Us\":%.1f,\"errors\":%ld}\n",
         nsamples, elapsed, (double)nsamples / elapsed, p50, p99, errors);
  return errors ? 1 : 0;
}

// Opens `conns` connections at most `inflight` at a time, proves each with one 32-byte echo
// (so the proxy has really connected to a backend and moved bytes both ways, as a real idle
// client would have), then holds them all until stdin closes.
static int run_hold(int port, int conns) {
  const int size = 32, inflight = 200;
  int ep = epoll_create1(0);
  client_conn *cs = calloc((size_t)conns, sizeof *cs);
  char msg[32], buf[256];
  memset(msg, 'h', sizeof msg);
  int opened = 0, ready = 0, pending = 0;
  long errors = 0;
  struct epoll_event evs[256];
  while (ready + errors < conns) {
    while (pending < inflight && opened < conns) {
      client_conn *c = &cs[opened++];
      c->fd = open_nonblocking(port);
      if (c->fd < 0) {
        errors++;
        continue;
      }
      struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
      epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
      pending++;
    }
    int n = epoll_wait(ep, evs, 256, 10000);
    if (n == 0) {
      fprintf(stderr, "hold: no progress for 10 s (%d ready, %ld errors)\n", ready, errors);
      return 1;
    }
    for (int i = 0; i < n; i++) {
      client_conn *c = evs[i].data.ptr;
      if (c->state == 0) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err || write(c->fd, msg, sizeof msg) != (ssize_t)sizeof msg) {
          errors++;
          pending--;
          epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
          continue;
        }
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
        c->state = 1;
        continue;
      }
      ssize_t r = read(c->fd, buf, sizeof buf);
      if (r < 0 && errno == EAGAIN) continue;
      if (r <= 0) {
        errors++;
        pending--;
        epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
        continue;
      }
      c->got += (int)r;
      if (c->got >= size) {
        c->state = 2;
        ready++;
        pending--;
        epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
      }
    }
  }
  printf("ready %d errors %ld\n", ready, errors);
  fflush(stdout);
  while (read(0, buf, sizeof buf) > 0) {
  }
  for (int i = 0; i < opened; i++)
    if (cs[i].fd > 0) close(cs[i].fd);
  return errors ? 1 : 0;
}

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  raise_nofile();
  if (argc >= 3 && strcmp(argv[1], "echo") == 0) run_echo(argc - 2, argv + 2, 0);
  if (argc >= 3 && strcmp(argv[1], "sink") == 0) run_echo(argc - 2, argv + 2, 1);
  if (argc == 6 && strcmp(argv[1], "pingpong") == 0)
    return run_pingpong(atoi(argv[2]), atoi(argv[3]), atof(argv[4]), atoi(argv[5]));
  if (argc == 4 && strcmp(argv[1], "hold") == 0) return run_hold(atoi(argv[2]), atoi(argv[3]));
  fprintf(stderr, "usage: tcptool echo|sink PORT... | pingpong PORT CONNS SECONDS SIZE | hold PORT CONNS\n");
  return 2;
}
