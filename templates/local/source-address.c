/*
 * A local node's own source address, for the connections it opens to other nodes.
 *
 * Local nodes share the operator machine's network namespace, so without this every connection a
 * node opens to 127.0.0.0/8 leaves from 127.0.0.1, whichever node opens it. On EC2 (and on any
 * real network) a connection leaves from its instance's own address, and services rely on that:
 * the NameNode records a DataNode by the source address of its registration, so two DataNodes
 * both seen as 127.0.0.1:9866 would be one DataNode replacing the other.
 *
 * Preloaded in every process of a local node (/etc/ld.so.preload), this binds an unbound TCP
 * socket to the node's address (read from /etc/millrace-local/source-address) just before it
 * connects to a loopback destination, IPv4 or IPv4-mapped IPv6 (Java's sockets). Anything else
 * (another destination, UDP, a socket already bound, no address file) is left untouched, and a
 * bind that fails leaves the connect as it was. The local target compiles it once per machine.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

/* Another path only for the unit test (cc -DADDRESS_FILE=...). */
#ifndef ADDRESS_FILE
#define ADDRESS_FILE "/etc/millrace-local/source-address"
#endif

/* 0: not read yet; 1: read, `source` holds it; -1: none. Reading twice in a race is harmless. */
static volatile int state;
static struct in_addr source;

static void load(void) {
  char buf[64];
  ssize_t n;
  int fd = open(ADDRESS_FILE, O_RDONLY | O_CLOEXEC);
  struct in_addr parsed;
  if (fd < 0) {
    state = -1;
    return;
  }
  n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) {
    state = -1;
    return;
  }
  buf[n] = '\0';
  buf[strcspn(buf, " \t\r\n")] = '\0';
  if (inet_pton(AF_INET, buf, &parsed) != 1) {
    state = -1;
    return;
  }
  source = parsed;
  state = 1;
}

static int is_loopback4(const struct in_addr *a) { return (ntohl(a->s_addr) >> 24) == 127; }

/* Binds fd to the node's address (port chosen at connect) if it is a TCP socket not yet bound. */
static void bind_source(int fd, int family) {
  int type = 0, one = 1;
  socklen_t len = sizeof type;
  struct sockaddr_storage bound;
  socklen_t blen = sizeof bound;
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM) return;
  memset(&bound, 0, sizeof bound);
  if (getsockname(fd, (struct sockaddr *)&bound, &blen) != 0 || bound.ss_family != family) return;
  /* Some option may not exist on an old kernel: the bind below still works, the port is just chosen earlier. */
  setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
  if (family == AF_INET) {
    struct sockaddr_in *b = (struct sockaddr_in *)&bound;
    struct sockaddr_in want;
    if (b->sin_port != 0 || b->sin_addr.s_addr != htonl(INADDR_ANY)) return;
    memset(&want, 0, sizeof want);
    want.sin_family = AF_INET;
    want.sin_addr = source;
    bind(fd, (struct sockaddr *)&want, sizeof want);
  } else {
    struct sockaddr_in6 *b = (struct sockaddr_in6 *)&bound;
    struct sockaddr_in6 want;
    if (b->sin6_port != 0 || !IN6_IS_ADDR_UNSPECIFIED(&b->sin6_addr)) return;
    memset(&want, 0, sizeof want);
    want.sin6_family = AF_INET6;
    want.sin6_addr.s6_addr[10] = 0xff;
    want.sin6_addr.s6_addr[11] = 0xff;
    memcpy(&want.sin6_addr.s6_addr[12], &source, 4);
    bind(fd, (struct sockaddr *)&want, sizeof want);
  }
}

int connect(int fd, const struct sockaddr *addr, socklen_t len) {
  int saved = errno;
  if (state == 0) load();
  if (state == 1 && addr != NULL) {
    if (addr->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
      if (is_loopback4(&((const struct sockaddr_in *)addr)->sin_addr)) bind_source(fd, AF_INET);
    } else if (addr->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
      const struct in6_addr *a = &((const struct sockaddr_in6 *)addr)->sin6_addr;
      if (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127) bind_source(fd, AF_INET6);
    }
  }
  errno = saved;
  return (int)syscall(SYS_connect, fd, addr, len);
}
