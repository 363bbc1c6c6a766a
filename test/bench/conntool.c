// The bench's new-connection client: CONCURRENCY connections in flight, each one connect,
// one request, the whole echo read back, close, then the next. The request may start with a
// prefix the balancer consumes or routes on (a PROXY v1 header, a captured ClientHello), so
// the plain proxy, PROXY accept and ssl_preread routing are measured by the same client
// against the same echo backends, and differ only in what the balancer does per connection.
//
//   conntool PORT SECONDS CONCURRENCY PREFIX_HEX EXPECT
//     PREFIX_HEX  bytes sent before a 32-byte payload, in hex ("-" for none)
//     EXPECT      bytes the echo must return, exactly, before the client closes (the payload,
//                 plus the prefix when the balancer forwards it; a PROXY header passed on to
//                 the backend comes back as extra bytes and counts as an error)
//   prints one JSON line: {"conns":N,"seconds":S,"rate":R,"p50Us":..,"p99Us":..,"errors":E}
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
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

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

typedef struct {
  int fd;
  int state;  // 0 connecting, 1 waiting for the echo
  int got;
  uint64_t started;
} conn;

static int port, expect;
static unsigned char *req;
static size_t req_len;
static long errors;

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Opens the next connection in slot c; a refused socket() or connect() counts as an error and
// is retried by the caller's loop on the next turn.
static int open_conn(int ep, conn *c) {
  c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (c->fd < 0) return -1;
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  c->state = 0;
  c->got = 0;
  c->started = now_ns();
  if (connect(c->fd, (struct sockaddr *)&a, sizeof a) < 0 && errno != EINPROGRESS) {
    close(c->fd);
    c->fd = -1;
    return -1;
  }
  struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
  epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
  return 0;
}

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: conntool PORT SECONDS CONCURRENCY PREFIX_HEX|- EXPECT\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  port = atoi(argv[1]);
  double seconds = atof(argv[2]);
  int concurrency = atoi(argv[3]);
  const char *hex = argv[4];
  expect = atoi(argv[5]);
  size_t prefix = strcmp(hex, "-") == 0 ? 0 : strlen(hex) / 2;
  req_len = prefix + 32;
  req = malloc(req_len);
  for (size_t i = 0; i < prefix; i++) {
    int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      fprintf(stderr, "conntool: bad hex prefix\n");
      return 2;
    }
    req[i] = (unsigned char)(hi << 4 | lo);
  }
  memset(req + prefix, 'c', 32);

  int ep = epoll_create1(0);
  conn *cs = calloc((size_t)concurrency, sizeof *cs);
  size_t cap = 1 << 20, n_done = 0;
  uint32_t *samples = malloc(cap * sizeof *samples);
  static char buf[65536];
  uint64_t start = now_ns(), end = start + (uint64_t)(seconds * 1e9);
  for (int i = 0; i < concurrency; i++)
    if (open_conn(ep, &cs[i]) < 0) errors++;
  struct epoll_event evs[256];
  for (;;) {
    uint64_t t = now_ns();
    if (t >= end) break;
    // A slot whose socket() or connect() failed outright gets another try each turn.
    for (int i = 0; i < concurrency; i++)
      if (cs[i].fd < 0 && open_conn(ep, &cs[i]) < 0) errors++;
    int n = epoll_wait(ep, evs, 256, (int)((end - t) / 1000000) + 1);
    for (int i = 0; i < n; i++) {
      conn *c = evs[i].data.ptr;
      int failed = 0, done = 0;
      if (c->state == 0) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err || write(c->fd, req, req_len) != (ssize_t)req_len) {
          failed = 1;
        } else {
          struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
          epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
          c->state = 1;
        }
      } else {
        ssize_t r = read(c->fd, buf, sizeof buf);
        if (r < 0 && errno == EAGAIN) continue;
        if (r <= 0) {
          failed = 1;
        } else if ((c->got += (int)r) > expect) {
          failed = 1;  // more than was sent: the balancer forwarded what it should have consumed
        } else if (c->got == expect) {
          done = 1;
        }
      }
      if (!failed && !done) continue;
      if (failed) errors++;
      if (done) {
        if (n_done == cap) samples = realloc(samples, (cap *= 2) * sizeof *samples);
        uint64_t lat = now_ns() - c->started;
        samples[n_done++] = lat > UINT32_MAX ? UINT32_MAX : (uint32_t)lat;
      }
      close(c->fd);  // also leaves the epoll set
      c->fd = -1;
      if (open_conn(ep, c) < 0) errors++;
    }
  }
  double elapsed = (double)(now_ns() - start) / 1e9;
  qsort(samples, n_done, sizeof *samples, cmp_u32);
  double p50 = n_done ? samples[n_done / 2] / 1000.0 : 0;
  double p99 = n_done ? samples[(size_t)((double)n_done * 0.99)] / 1000.0 : 0;
  printf("{\"conns\":%zu,\"seconds\":%.3f,\"rate\":%.1f,\"p50Us\":%.1f,\"p99Us\":%.1f,\"errors\":%ld}\n", n_done, elapsed,
         (double)n_done / elapsed, p50, p99, errors);
  // A few refusals in a run of tens of thousands are noise; a balancer that fails many has failed.
  return errors * 100 > (long)n_done ? 1 : 0;
}
