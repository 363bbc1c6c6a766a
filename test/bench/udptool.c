// The bench's UDP tools: an echo backend, a request/response load client and a session
// holder, in C with epoll so the load side costs little next to the balancer it measures.
//
//   udptool echo PORT [PORT...]            echo every datagram back to its sender
//   udptool flood PORT FLOWS SECONDS SIZE WINDOW
//                                           FLOWS sockets (one source port each: one balancer
//                                           session each), each keeping WINDOW datagrams of
//                                           SIZE bytes in flight; prints one JSON line
//   udptool hold PORT SESSIONS             SESSIONS sockets, each proven with one answered
//                                           datagram; prints "ready N errors E" and holds them
//                                           until stdin closes
//
// UDP loses datagrams by design (a full socket buffer drops, as the kernel does): a flow that
// has heard nothing for LOSS_MS has its window counted lost and refilled, so the run goes on
// and the loss is reported instead of stalling the rate.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
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

#define LOSS_MS 200

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000ull + (uint64_t)ts.tv_nsec / 1000000ull;
}

static struct sockaddr_in loopback(int port) {
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

static void die(const char *what) {
  perror(what);
  exit(2);
}

__attribute__((noreturn)) static void run_echo(int nports, char **ports) {
  int ep = epoll_create1(0);
  for (int i = 0; i < nports; i++) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    int big = 4 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    struct sockaddr_in a = loopback(atoi(ports[i]));
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) die("bind");
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  }
  static char buf[65536];
  struct epoll_event evs[64];
  for (;;) {
    int n = epoll_wait(ep, evs, 64, -1);
    for (int i = 0; i < n; i++) {
      for (;;) {  // drain: one wakeup may stand for many datagrams
        struct sockaddr_in from;
        socklen_t fl = sizeof from;
        ssize_t r = recvfrom(evs[i].data.fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
        if (r < 0) break;
        sendto(evs[i].data.fd, buf, (size_t)r, 0, (struct sockaddr *)&from, fl);
      }
    }
  }
}

typedef struct {
  int fd;
  int inflight;
  uint64_t heard;  // when the last answer (or the last refill) was
} flow;

static int open_flow(int port) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  if (fd < 0) die("socket");
  struct sockaddr_in a = loopback(port);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) die("connect");
  return fd;
}

static void fill(flow *f, const char *msg, int size, int window, long *errors) {
  while (f->inflight < window) {
    if (send(f->fd, msg, (size_t)size, 0) != size) {
      (*errors)++;  // ICMP unreachable or a full buffer: the balancer is not taking it
      break;
    }
    f->inflight++;
  }
}

static int run_flood(int port, int flows, double seconds, int size, int window) {
  int ep = epoll_create1(0);
  flow *fs = calloc((size_t)flows, sizeof *fs);
  char *msg = malloc((size_t)size), buf[65536];
  memset(msg, 'u', (size_t)size);
  long answers = 0, lost = 0, errors = 0;
  uint64_t start = now_ms(), end = start + (uint64_t)(seconds * 1000), last_sweep = start;
  for (int i = 0; i < flows; i++) {
    fs[i].fd = open_flow(port);
    fs[i].heard = start;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &fs[i]};
    epoll_ctl(ep, EPOLL_CTL_ADD, fs[i].fd, &ev);
    fill(&fs[i], msg, size, window, &errors);
  }
  struct epoll_event evs[256];
  for (;;) {
    uint64_t t = now_ms();
    if (t >= end) break;
    int n = epoll_wait(ep, evs, 256, 50);
    t = now_ms();
    for (int i = 0; i < n; i++) {
      flow *f = evs[i].data.ptr;
      ssize_t r;
      while ((r = recv(f->fd, buf, sizeof buf, 0)) >= 0) {
        if (r == size) answers++;
        else errors++;
        if (f->inflight > 0) f->inflight--;
        f->heard = t;
      }
      if (errno != EAGAIN) errors++;
      fill(f, msg, size, window, &errors);
    }
    if (t - last_sweep >= LOSS_MS / 4) {
      last_sweep = t;
      for (int i = 0; i < flows; i++) {
        flow *f = &fs[i];
        if (t - f->heard < LOSS_MS) continue;
        lost += f->inflight;
        f->inflight = 0;
        f->heard = t;
        fill(f, msg, size, window, &errors);
      }
    }
  }
  double elapsed = (double)(now_ms() - start) / 1000.0;
  printf("{\"answers\":%ld,\"seconds\":%.3f,\"rate\":%.1f,\"lost\":%ld,\"errors\":%ld}\n", answers, elapsed,
         (double)answers / elapsed, lost, errors);
  return answers > 0 ? 0 : 1;
}

static int run_hold(int port, int sessions) {
  int *fds = malloc((size_t)sessions * sizeof *fds);
  char msg[64], buf[256];
  memset(msg, 'h', sizeof msg);
  int ready = 0;
  long errors = 0;
  // In batches of 200, each datagram resent up to 5 times: a session counts once answered.
  for (int base = 0; base < sessions; base += 200) {
    int n = sessions - base < 200 ? sessions - base : 200;
    struct pollfd *p = calloc((size_t)n, sizeof *p);
    for (int i = 0; i < n; i++) {
      fds[base + i] = open_flow(port);
      p[i].fd = fds[base + i];
      p[i].events = POLLIN;
    }
    int left = n;
    for (int attempt = 0; attempt < 5 && left > 0; attempt++) {
      for (int i = 0; i < n; i++)
        if (p[i].fd >= 0) send(p[i].fd, msg, sizeof msg, 0);
      uint64_t until = now_ms() + 1000;
      while (left > 0 && now_ms() < until) {
        if (poll(p, (nfds_t)n, 100) <= 0) continue;
        for (int i = 0; i < n; i++) {
          if (p[i].fd < 0 || !(p[i].revents & (POLLIN | POLLERR))) continue;
          if (recv(p[i].fd, buf, sizeof buf, 0) == (ssize_t)sizeof msg) ready++;
          else errors++;
          p[i].fd = -1;  // poll skips it from now on
          left--;
        }
      }
    }
    errors += left;
    free(p);
  }
  printf("ready %d errors %ld\n", ready, errors);
  fflush(stdout);
  while (read(0, buf, sizeof buf) > 0) {
  }
  for (int i = 0; i < sessions; i++) close(fds[i]);
  return 0;
}

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  if (argc >= 3 && strcmp(argv[1], "echo") == 0) run_echo(argc - 2, argv + 2);
  if (argc == 7 && strcmp(argv[1], "flood") == 0)
    return run_flood(atoi(argv[2]), atoi(argv[3]), atof(argv[4]), atoi(argv[5]), atoi(argv[6]));
  if (argc == 4 && strcmp(argv[1], "hold") == 0) return run_hold(atoi(argv[2]), atoi(argv[3]));
  fprintf(stderr, "usage: udptool echo PORT... | flood PORT FLOWS SECONDS SIZE WINDOW | hold PORT SESSIONS\n");
  return 2;
}
