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
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <sys/socket.h>
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

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
  napi_value fn;
  napi_create_function(env, "setns", NAPI_AUTO_LENGTH, js_setns, NULL, &fn);
  napi_set_named_property(env, exports, "setns", fn);
  napi_create_function(env, "setsockoptInt", NAPI_AUTO_LENGTH, js_setsockopt_int, NULL, &fn);
  napi_set_named_property(env, exports, "setsockoptInt", fn);
  return exports;
}
