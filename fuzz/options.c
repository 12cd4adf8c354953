/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * TLSOptions' argument: tls_conf_parse_options() on the input's lines, as
 * successive TLSOptions lines of one section (the first half of them) and
 * of a section inside it (the rest), then the two merged as httpd merges
 * them; each line also through the directive's handler. Beyond memory
 * errors it checks: only known options end up set, none both added and
 * removed; the last word has its documented effect; the handler agrees
 * with the parser; the merged section has its parent's options, with the
 * inner section's +/- applied, or the inner section's own absolute list. */
#include <string.h>
#include <strings.h>

#include <apr_strings.h>

#include "fuzz.h"
#include "stubs.h"

#define ALL_OPTS (TLS_OPT_STD_ENV_VARS | TLS_OPT_EXPORT_CERT_DATA \
                  | TLS_OPT_FAKE_BASIC_AUTH)

static int effective(const tls_dir_conf_t *dc)
{
    return (dc->opts | dc->opts_add) & ~dc->opts_del;
}

static void check_sane(const tls_dir_conf_t *dc)
{
    FUZZ_CHECK(!((dc->opts | dc->opts_add | dc->opts_del) & ~ALL_OPTS)
               && !(dc->opts_add & dc->opts_del)
               && (dc->opts_set || !dc->opts),
               "opts %x add %x del %x set %d", dc->opts, dc->opts_add,
               dc->opts_del, dc->opts_set);
}

static int option_bit(const char *w)
{
    if (!strcasecmp(w, "StdEnvVars")) {
        return TLS_OPT_STD_ENV_VARS;
    }
    if (!strcasecmp(w, "ExportCertData")) {
        return TLS_OPT_EXPORT_CERT_DATA;
    }
    if (!strcasecmp(w, "FakeBasicAuth")) {
        return TLS_OPT_FAKE_BASIC_AUTH;
    }
    return 0;
}

static void check_last_word(apr_pool_t *p, const char *line,
                            const tls_dir_conf_t *dc)
{
    const char *w, *last = NULL;
    int bit;

    while (*(w = ap_getword_conf(p, &line))) {
        last = w;
    }
    if (!last) {
        return;
    }
    bit = option_bit(last + (*last == '+' || *last == '-'));
    FUZZ_CHECK(bit, "accepted '%s'", last);
    if (*last == '-') {
        FUZZ_CHECK(!(effective(dc) & bit), "'%s' leaves %x", last,
                   effective(dc));
    }
    else {
        FUZZ_CHECK(effective(dc) & bit, "'%s' leaves %x", last,
                   effective(dc));
    }
}

/* Applies one line to dc, and through the handler to fd's directory. */
static int apply(apr_pool_t *p, const char *line, tls_dir_conf_t *dc,
                 fuzz_directive_t *fd)
{
    const char *err = tls_conf_parse_options(p, line, dc);
    const char *herr = fuzz_directive_run(fd, line);

    if (err) {
        FUZZ_CHECK(*err && herr && !strcmp(herr, apr_pstrcat(p, "TLSOptions: ",
                                                            err, NULL)),
                   "handler says '%s', parser '%s'", herr ? herr : "", err);
        return 0;
    }
    FUZZ_CHECK(!herr, "handler says '%s', the parser accepts", herr);
    check_sane(dc);
    check_last_word(p, line, dc);
    FUZZ_CHECK(!memcmp(dc, fd->dc, sizeof(*dc)), "handler and parser differ");
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool_begin();
    char *text = apr_pstrdup(p, fuzz_string(p, data, size));
    tls_dir_conf_t *outer = tls_conf_create_dir(p, NULL);
    tls_dir_conf_t *inner = tls_conf_create_dir(p, NULL);
    tls_dir_conf_t *merged;
    fuzz_directive_t fd_outer, fd_inner;
    apr_array_header_t *lines = apr_array_make(p, 8, sizeof(char *));
    char *line, *last;
    int i, ok = 1, want;

    for (line = apr_strtok(text, "\n", &last); line && lines->nelts < 8;
         line = apr_strtok(NULL, "\n", &last)) {
        APR_ARRAY_PUSH(lines, char *) = line;
    }
    fuzz_directive_init(&fd_outer, p, "TLSOptions");
    fuzz_directive_init(&fd_inner, p, "TLSOptions");
    for (i = 0; ok && i < lines->nelts; ++i) {
        if (2 * i < lines->nelts) {
            ok = apply(p, APR_ARRAY_IDX(lines, i, char *), outer, &fd_outer);
        }
        else {
            ok = apply(p, APR_ARRAY_IDX(lines, i, char *), inner, &fd_inner);
        }
    }
    if (ok) {
        merged = tls_conf_merge_dir(p, outer, inner);
        check_sane(merged);
        want = inner->opts_set ? effective(inner)
             : (effective(outer) | inner->opts_add) & ~inner->opts_del;
        FUZZ_CHECK(effective(merged) == want, "merged %x, expected %x",
                   effective(merged), want);
    }
    fuzz_pool_end(p);
    return 0;
}
