/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * The httpd functions that tls_config.o refers to, so that the fuzz
 * targets link it without httpd. Only ap_getword_conf() does real work:
 * the TLSProtocol and TLSOptions parsers split their argument with it, so
 * this one splits words as httpd's does (written for these targets, after
 * httpd's documented behaviour): leading white space skipped; a word in
 * double or single quotes runs to the matching quote, inside which a
 * backslash makes the quote or a backslash literal; any other word runs to
 * the next white space, where only a doubled backslash stands for one;
 * white space after the word skipped. */
#include <string.h>

#include <apr_lib.h>
#include <apr_strings.h>

#include "stubs.h"

/* zeroed: its module_index is 0, where fuzz_directive_init() puts the
 * server configuration */
module AP_MODULE_DECLARE_DATA tls_module;

AP_DECLARE(char *) ap_getword_conf(apr_pool_t *p, const char **line)
{
    const char *s = *line, *end;
    char quote = 0, *word, *out;

    while (*s && apr_isspace(*s)) {
        ++s;
    }
    if (*s == '"' || *s == '\'') {
        quote = *s++;
    }
    for (end = s; *end; ++end) {
        if (quote ? *end == quote : apr_isspace(*end)) {
            break;
        }
        if (quote && *end == '\\' && (end[1] == quote || end[1] == '\\')) {
            ++end;
        }
    }
    word = out = apr_palloc(p, (apr_size_t)(end - s) + 1);
    while (s < end) {
        if (*s == '\\' && s + 1 < end
            && (s[1] == '\\' || (quote && s[1] == quote))) {
            ++s;
        }
        *out++ = *s++;
    }
    *out = '\0';
    if (quote && *end == quote) {
        ++end;
    }
    while (*end && apr_isspace(*end)) {
        ++end;
    }
    *line = end;
    return word;
}

/* The targets give absolute paths. */
AP_DECLARE(char *) ap_server_root_relative(apr_pool_t *p, const char *fname)
{
    return apr_pstrdup(p, fname);
}

/* Every call is made in the main server's context. */
AP_DECLARE(const char *) ap_check_cmd_context(cmd_parms *cmd,
                                              unsigned forbidden)
{
    (void)cmd; (void)forbidden;
    return NULL;
}

/* No mod_proxy here: <Proxy> sections are none. */
AP_DECLARE(module *) ap_find_linked_module(const char *name)
{
    (void)name;
    return NULL;
}

/* configuration checks log their errors; the fuzz targets test messages,
 * not the log */
AP_DECLARE(void) ap_log_error_(const char *file, int line, int module_index,
                               int level, apr_status_t status,
                               const server_rec *s, const char *fmt, ...)
{
    (void)file; (void)line; (void)module_index; (void)level;
    (void)status; (void)s; (void)fmt;
}

AP_DECLARE(void) ap_hook_post_config(ap_HOOK_post_config_t *pf,
                                     const char * const *pre,
                                     const char * const *succ, int order)
{
    (void)pf; (void)pre; (void)succ; (void)order;
}

void fuzz_directive_init(fuzz_directive_t *fd, apr_pool_t *p,
                         const char *name)
{
    const command_rec *c;

    memset(fd, 0, sizeof(*fd));
    for (c = tls_conf_cmds; c->name && strcmp(c->name, name); ++c) {
    }
    if (!c->name || (c->args_how != RAW_ARGS && c->args_how != TAKE1)) {
        abort();
    }
    fd->sc = tls_conf_create_srv(p, &fd->server);
    fd->dc = tls_conf_create_dir(p, NULL);
    fd->module_config[0] = fd->sc;
    fd->server.module_config = (ap_conf_vector_t *)fd->module_config;
    fd->directive.directive = name;
    fd->directive.filename = "/fuzz.conf";
    fd->directive.line_num = 1;
    fd->cmd.pool = p;
    fd->cmd.temp_pool = p;
    fd->cmd.server = &fd->server;
    fd->cmd.directive = &fd->directive;
    fd->cmd.cmd = c;
}

const char *fuzz_directive_run(fuzz_directive_t *fd, const char *arg)
{
    const command_rec *c = fd->cmd.cmd;

    return c->args_how == RAW_ARGS
        ? c->AP_RAW_ARGS(&fd->cmd, fd->dc, arg)
        : c->AP_TAKE1(&fd->cmd, fd->dc, arg);
}
