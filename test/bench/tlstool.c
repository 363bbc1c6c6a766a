// The bench's TLS client (OpenSSL, libssl-dev): handshakes per second, full or resumed, and
// bulk throughput through a TLS-terminating listener. Threads with blocking sockets keep the
// code short; they all share the load CPU (taskset), so their number only sets how many
// handshakes are in flight, not how much CPU the client gets.
//
//   tlstool hs PORT SECONDS THREADS full|resume
//       per connection: TLS 1.3 handshake, 32 bytes written, their echo read (which also takes
//       the server's session tickets), close. `resume` offers the last ticket each time.
//       Certificates are not verified: the client's cost per handshake stays small.
//   tlstool bulk PORT SECONDS
//       one connection writing 16 KiB records for SECONDS (the backend discards them)
//   each prints one JSON line.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static int port;
static double seconds;
static int resume;
static SSL_CTX *ctx;
static uint64_t end_ns;

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int dial(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  // A balancer that stops answering must not hang the run past its end.
  struct timeval tv = {.tv_sec = 5};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
    close(fd);
    return -1;
  }
  return fd;
}

typedef struct {
  long done, resumed, errors;
} counts;

static void *handshakes(void *arg) {
  counts *k = arg;
  SSL_SESSION *last = NULL;
  char msg[32], buf[64];
  memset(msg, 't', sizeof msg);
  while (now_ns() < end_ns) {
    int fd = dial();
    if (fd < 0) {
      k->errors++;
      continue;
    }
    SSL *ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    SSL_set_tlsext_host_name(ssl, "bench.test");
    if (resume && last) SSL_set_session(ssl, last);
    int got = 0;
    if (SSL_connect(ssl) == 1 && SSL_write(ssl, msg, sizeof msg) == (int)sizeof msg) {
      while (got < (int)sizeof msg) {
        int r = SSL_read(ssl, buf, sizeof buf);
        if (r <= 0) break;
        got += r;
      }
    }
    if (got >= (int)sizeof msg) {
      k->done++;
      if (SSL_session_reused(ssl)) k->resumed++;
      if (resume) {
        SSL_SESSION *s = SSL_get1_session(ssl);
        if (s) {
          if (last) SSL_SESSION_free(last);
          last = s;
        }
      }
      SSL_shutdown(ssl);  // close_notify, as a polite client sends
    } else {
      k->errors++;
      ERR_clear_error();
    }
    SSL_free(ssl);
    close(fd);
  }
  if (last) SSL_SESSION_free(last);
  return NULL;
}

static int run_bulk(void) {
  int fd = dial();
  if (fd < 0) return 1;
  SSL *ssl = SSL_new(ctx);
  SSL_set_fd(ssl, fd);
  if (SSL_connect(ssl) != 1) {
    ERR_print_errors_fp(stderr);
    return 1;
  }
  static char buf[16384];
  memset(buf, 'b', sizeof buf);
  uint64_t start = now_ns(), end = start + (uint64_t)(seconds * 1e9);
  uint64_t bytes = 0;
  long errors = 0;
  while (now_ns() < end) {
    int w = SSL_write(ssl, buf, sizeof buf);
    if (w <= 0) {
      errors++;
      break;
    }
    bytes += (uint64_t)w;
  }
  double elapsed = (double)(now_ns() - start) / 1e9;
  printf("{\"bytes\":%llu,\"seconds\":%.3f,\"gbps\":%.3f,\"errors\":%ld}\n", (unsigned long long)bytes, elapsed,
         (double)bytes * 8 / elapsed / 1e9, errors);
  SSL_shutdown(ssl);
  SSL_free(ssl);
  close(fd);
  return errors ? 1 : 0;
}

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
  // The ticket is kept by the thread (SSL_get1_session), not in a client-side cache.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  if (argc == 4 && strcmp(argv[1], "bulk") == 0) {
    port = atoi(argv[2]);
    seconds = atof(argv[3]);
    return run_bulk();
  }
  if (argc != 6 || strcmp(argv[1], "hs") != 0) {
    fprintf(stderr, "usage: tlstool hs PORT SECONDS THREADS full|resume | bulk PORT SECONDS\n");
    return 2;
  }
  port = atoi(argv[2]);
  seconds = atof(argv[3]);
  int threads = atoi(argv[4]);
  resume = strcmp(argv[5], "resume") == 0;
  uint64_t start = now_ns();
  end_ns = start + (uint64_t)(seconds * 1e9);
  pthread_t *ts = calloc((size_t)threads, sizeof *ts);
  counts *ks = calloc((size_t)threads, sizeof *ks);
  for (int i = 0; i < threads; i++) pthread_create(&ts[i], NULL, handshakes, &ks[i]);
  counts sum = {0, 0, 0};
  for (int i = 0; i < threads; i++) {
    pthread_join(ts[i], NULL);
    sum.done += ks[i].done;
    sum.resumed += ks[i].resumed;
    sum.errors += ks[i].errors;
  }
  double elapsed = (double)(now_ns() - start) / 1e9;
  printf("{\"handshakes\":%ld,\"resumed\":%ld,\"seconds\":%.3f,\"rate\":%.1f,\"errors\":%ld}\n", sum.done, sum.resumed,
         elapsed, (double)sum.done / elapsed, sum.errors);
  // Asked to resume, a server that never does has not been measured doing it. A partial share
  // is reported (workers that do not share ticket keys resume only their own tickets).
  if (resume && sum.done > 0 && sum.resumed == 0) return 1;
  return sum.done > 0 ? 0 : 1;
}
