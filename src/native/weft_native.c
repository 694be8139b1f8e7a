/*
 * weft_native — the few system calls weft needs that Node does not expose.
 *
 * setsockoptInt(fd, level, name, value): an integer socket option on a socket Node (or a package)
 * created, for the options Node does not expose (e.g. NETLINK_NO_ENOBUFS).
 *
 * setns(fd, nstype): moves the calling thread (Node's main thread) into the namespace behind fd.
 * weft uses it only around the synchronous creation of a socket, so that a netlink socket is bound
 * to another network namespace (as `ip -n NS` does) without running a separate process. It is
 * deliberately not a general "run this code in a namespace" facility: the caller switches back
 * before returning to the event loop.
 *
 * BGP transport security (bgp-ts, src/bgp/transport/sockopts.ts wraps these):
 * tcpMd5(fd, address, key): RFC 2385 TCP_MD5SIG for one peer address on a listening or unconnected
 *   socket ('' removes the key). On an AF_INET6 socket an IPv4 peer is keyed by its v4-mapped
 *   address, which is how Linux matches IPv4 connections accepted by a dual-stack listener.
 * setTtl(fd, ttl) / setMinTtl(fd, minTtl): RFC 5082 GTSM — send with TTL 255 and make the kernel
 *   drop segments arriving with a smaller TTL (IP_TTL/IP_MINTTL, IPV6_UNICAST_HOPS/
 *   IPV6_MINHOPCOUNT; both on AF_INET6 sockets so v4-mapped peers are covered too).
 * tcpConnect(remote, port, local, key, ttl, minTtl): an active BGP connection whose MD5 key and TTL
 *   options are in place before connect(), so the SYN itself is signed. Returns the fd of a
 *   non-blocking socket with the connect in progress; connectResult(fd) says -1 while pending, else
 *   the SO_ERROR (0 = connected). The caller then gives the fd to Node (new net.Socket({fd})) or
 *   closes it with closeFd(fd).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>
#include <stdio.h>
#include <string.h>
#include <node_api.h>

static napi_value throw_errno(napi_env env, const char *syscall, int err) {
  char msg[160];
  snprintf(msg, sizeof msg, "%s: %s", syscall, strerror(err));
  napi_value message, error, errnoValue, sys;
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &message);
  napi_create_error(env, NULL, message, &error);
  napi_create_int32(env, err, &errnoValue);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &sys);
  napi_set_named_property(env, error, "errno", errnoValue);
  napi_set_named_property(env, error, "syscall", sys);
  napi_throw(env, error);
  return NULL;
}

static napi_value js_setns(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t fd = -1, nstype = 0;
  if (argc != 2 || napi_get_value_int32(env, argv[0], &fd) != napi_ok ||
      napi_get_value_int32(env, argv[1], &nstype) != napi_ok) {
    napi_throw_type_error(env, NULL, "setns(fd: number, nstype: number)");
    return NULL;
  }
  if (setns(fd, nstype) != 0) return throw_errno(env, "setns", errno);
  return NULL;
}

static napi_value js_setsockopt_int(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t fd = -1, level = 0, name = 0, value = 0;
  if (argc != 4 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || napi_get_value_int32(env, argv[1], &level) != napi_ok ||
      napi_get_value_int32(env, argv[2], &name) != napi_ok || napi_get_value_int32(env, argv[3], &value) != napi_ok) {
    napi_throw_type_error(env, NULL, "setsockoptInt(fd: number, level: number, name: number, value: number)");
    return NULL;
  }
  int v = value;
  if (setsockopt(fd, level, name, &v, sizeof v) != 0) return throw_errno(env, "setsockopt", errno);
  return NULL;
}

/* An IPv4 or IPv6 address (text) as a sockaddr; an IPv4 one as v4-mapped when `family` is AF_INET6. */
static int make_addr(const char *text, int port, int family, struct sockaddr_storage *ss, socklen_t *len) {
  struct in_addr a4;
  struct in6_addr a6;
  memset(ss, 0, sizeof *ss);
  if (inet_pton(AF_INET, text, &a4) == 1) {
    if (family == AF_INET6) {
      struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
      s6->sin6_family = AF_INET6;
      s6->sin6_port = htons(port);
      s6->sin6_addr.s6_addr[10] = 0xff;
      s6->sin6_addr.s6_addr[11] = 0xff;
      memcpy(&s6->sin6_addr.s6_addr[12], &a4, 4);
      *len = sizeof *s6;
    } else {
      struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
      s4->sin_family = AF_INET;
      s4->sin_port = htons(port);
      s4->sin_addr = a4;
      *len = sizeof *s4;
    }
    return 0;
  }
  if (inet_pton(AF_INET6, text, &a6) == 1 && family != AF_INET) {
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(port);
    s6->sin6_addr = a6;
    *len = sizeof *s6;
    return 0;
  }
  return EINVAL;
}

static int socket_family(int fd) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0) return -1;
  return ss.ss_family;
}

static int set_md5(int fd, int family, const char *address, const char *key) {
  struct tcp_md5sig sig;
  socklen_t len;
  size_t keylen = strlen(key);
  if (keylen > TCP_MD5SIG_MAXKEYLEN) return EINVAL;
  memset(&sig, 0, sizeof sig);
  if (make_addr(address, 0, family, &sig.tcpm_addr, &len) != 0) return EINVAL;
  sig.tcpm_keylen = (uint16_t)keylen;
  memcpy(sig.tcpm_key, key, keylen);
  return setsockopt(fd, IPPROTO_TCP, TCP_MD5SIG, &sig, sizeof sig) == 0 ? 0 : errno;
}

/* Outgoing TTL; on AF_INET6 also IP_TTL, which Linux uses for v4-mapped peers. */
static int set_ttl(int fd, int family, int ttl) {
  if (family == AF_INET6) {
    if (setsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &ttl, sizeof ttl) != 0) return errno;
  }
  return setsockopt(fd, IPPROTO_IP, IP_TTL, &ttl, sizeof ttl) == 0 ? 0 : errno;
}

static int set_min_ttl(int fd, int family, int min) {
  if (family == AF_INET6) {
    if (setsockopt(fd, IPPROTO_IPV6, IPV6_MINHOPCOUNT, &min, sizeof min) != 0) return errno;
  }
  return setsockopt(fd, IPPROTO_IP, IP_MINTTL, &min, sizeof min) == 0 ? 0 : errno;
}

/* Argument helpers: a missing or mistyped argument becomes a TypeError naming the signature. */
static int arg_int(napi_env env, napi_value v, int32_t *out) { return napi_get_value_int32(env, v, out) == napi_ok; }
static int arg_str(napi_env env, napi_value v, char *buf, size_t size) {
  size_t n;
  return napi_get_value_string_utf8(env, v, buf, size, &n) == napi_ok && n < size - 1;
}

static napi_value js_tcp_md5(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  char address[64], key[128];
  int32_t fd;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc != 3 || !arg_int(env, argv[0], &fd) || !arg_str(env, argv[1], address, sizeof address) || !arg_str(env, argv[2], key, sizeof key)) {
    napi_throw_type_error(env, NULL, "tcpMd5(fd: number, address: string, key: string)");
    return NULL;
  }
  int family = socket_family(fd);
  if (family < 0) return throw_errno(env, "getsockname", errno);
  int err = set_md5(fd, family, address, key);
  return err ? throw_errno(env, "setsockopt(TCP_MD5SIG)", err) : NULL;
}

static napi_value js_ttl_option(napi_env env, napi_callback_info info, int min) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t fd, value;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc != 2 || !arg_int(env, argv[0], &fd) || !arg_int(env, argv[1], &value) || value < 0 || value > 255) {
    napi_throw_type_error(env, NULL, "(fd: number, ttl: 0..255)");
    return NULL;
  }
  int family = socket_family(fd);
  if (family < 0) return throw_errno(env, "getsockname", errno);
  int err = min ? set_min_ttl(fd, family, value) : set_ttl(fd, family, value);
  return err ? throw_errno(env, min ? "setsockopt(IP_MINTTL)" : "setsockopt(IP_TTL)", err) : NULL;
}
static napi_value js_set_ttl(napi_env env, napi_callback_info info) { return js_ttl_option(env, info, 0); }
static napi_value js_set_min_ttl(napi_env env, napi_callback_info info) { return js_ttl_option(env, info, 1); }

static napi_value js_tcp_connect(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  char remote[64], local[64], key[128];
  int32_t port, ttl, min_ttl;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc != 6 || !arg_str(env, argv[0], remote, sizeof remote) || !arg_int(env, argv[1], &port) || !arg_str(env, argv[2], local, sizeof local) ||
      !arg_str(env, argv[3], key, sizeof key) || !arg_int(env, argv[4], &ttl) || !arg_int(env, argv[5], &min_ttl)) {
    napi_throw_type_error(env, NULL, "tcpConnect(remote: string, port: number, local: string, key: string, ttl: number, minTtl: number)");
    return NULL;
  }
  struct sockaddr_storage to, from;
  socklen_t to_len = 0, from_len = 0;
  struct in_addr probe;
  int family = inet_pton(AF_INET, remote, &probe) == 1 ? AF_INET : AF_INET6;
  if (make_addr(remote, port, family, &to, &to_len) != 0) return throw_errno(env, "inet_pton(remote)", EINVAL);
  if (local[0] != 0 && make_addr(local, 0, family, &from, &from_len) != 0) return throw_errno(env, "inet_pton(local)", EINVAL);
  int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
  if (fd < 0) return throw_errno(env, "socket", errno);
  const char *step = NULL;
  int err = 0;
  if (key[0] != 0 && (err = set_md5(fd, family, remote, key)) != 0) step = "setsockopt(TCP_MD5SIG)";
  else if (ttl > 0 && (err = set_ttl(fd, family, ttl)) != 0) step = "setsockopt(IP_TTL)";
  else if (min_ttl > 0 && (err = set_min_ttl(fd, family, min_ttl)) != 0) step = "setsockopt(IP_MINTTL)";
  else if (local[0] != 0 && bind(fd, (struct sockaddr *)&from, from_len) != 0) step = "bind", err = errno;
  else if (connect(fd, (struct sockaddr *)&to, to_len) != 0 && errno != EINPROGRESS) step = "connect", err = errno;
  if (step != NULL) {
    close(fd);
    return throw_errno(env, step, err);
  }
  napi_value result;
  napi_create_int32(env, fd, &result);
  return result;
}

static napi_value js_connect_result(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], result;
  int32_t fd;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc != 1 || !arg_int(env, argv[0], &fd)) {
    napi_throw_type_error(env, NULL, "connectResult(fd: number)");
    return NULL;
  }
  struct pollfd p = {.fd = fd, .events = POLLOUT};
  int ready = poll(&p, 1, 0);
  if (ready < 0) return throw_errno(env, "poll", errno);
  int err = -1;
  if (ready > 0) {
    socklen_t len = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) return throw_errno(env, "getsockopt(SO_ERROR)", errno);
  }
  napi_create_int32(env, err, &result);
  return result;
}

static napi_value js_close_fd(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc != 1 || !arg_int(env, argv[0], &fd)) {
    napi_throw_type_error(env, NULL, "closeFd(fd: number)");
    return NULL;
  }
  if (close(fd) != 0) return throw_errno(env, "close", errno);
  return NULL;
}

#define EXPORT(name, fnc)                                                  \
  napi_create_function(env, name, NAPI_AUTO_LENGTH, fnc, NULL, &fn); \
  napi_set_named_property(env, exports, name, fn)

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
  napi_value fn;
  EXPORT("setns", js_setns);
  EXPORT("setsockoptInt", js_setsockopt_int);
  EXPORT("tcpMd5", js_tcp_md5);
  EXPORT("setTtl", js_set_ttl);
  EXPORT("setMinTtl", js_set_min_ttl);
  EXPORT("tcpConnect", js_tcp_connect);
  EXPORT("connectResult", js_connect_result);
  EXPORT("closeFd", js_close_fd);
  return exports;
}
