/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * tls_config.o without httpd (stubs.c): directive handlers called as
 * httpd calls them, for the targets that go through tls_conf_cmds. */
#ifndef FUZZ_STUBS_H
#define FUZZ_STUBS_H

#include <httpd.h>
#include <http_config.h>

#include "../mod_tls/tls_config.h"

typedef struct {
    cmd_parms cmd;
    server_rec server;
    ap_directive_t directive;
    void *module_config[1];       /* tls_module's index is 0 here */
    tls_srv_conf_t *sc;           /* the server's, as created by httpd */
    tls_dir_conf_t *dc;           /* a fresh directory's */
} fuzz_directive_t;

/* Prepares a call of the mod_tls directive `name` in the main server's
 * context, with a fresh server and directory configuration from p. */
void fuzz_directive_init(fuzz_directive_t *fd, apr_pool_t *p,
                         const char *name);

/* Calls the directive's handler with one argument (RAW_ARGS or TAKE1). */
const char *fuzz_directive_run(fuzz_directive_t *fd, const char *arg);

#endif /* FUZZ_STUBS_H */
