/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * TLSProtocol's argument: tls_conf_parse_protocol() on any string, and the
 * directive's handler as httpd calls it. Beyond memory errors it checks:
 * an accepted spec leaves only known versions, TLS 1.2 or 1.3 among them;
 * the last word has its documented effect; the result written back in
 * mod_ssl's notation reads the same; the priority string made from it is
 * one GnuTLS accepts, which enables exactly the TLS 1.2 and 1.3 asked for
 * and no older version that was not (the system's GnuTLS configuration
 * may remove some); the handler stores the same versions or returns the
 * same message, with the directive's name. */
#include <string.h>
#include <strings.h>

#include <apr_strings.h>
#include <gnutls/gnutls.h>

#include "fuzz.h"
#include "stubs.h"

/* The versions a word names, from the documentation (docs/directives.md):
 * 0 for no protocol name. "name+" is that version and every newer one. */
static int word_bits(const char *w)
{
    static const struct { const char *name; int bits; } names[] = {
        { "all", TLS_PROTO_ALL },
        { "TLSv1", TLS_PROTO_TLS1_0 },
        { "TLSv1.0", TLS_PROTO_TLS1_0 },
        { "TLSv1.1", TLS_PROTO_TLS1_1 },
        { "TLSv1.2", TLS_PROTO_TLS1_2 },
        { "TLSv1.3", TLS_PROTO_TLS1_3 },
    };
    size_t len = strlen(w), i;
    int plus = len > 1 && w[len - 1] == '+';

    for (i = 0; i < sizeof(names) / sizeof(names[0]); ++i) {
        if (strlen(names[i].name) == len - plus
            && !strncasecmp(names[i].name, w, len - plus)) {
            int bits = names[i].bits;

            if (plus) {
                /* the lowest version named, and all above it */
                bits = TLS_PROTO_ALL & ~((bits & -bits) - 1);
            }
            return bits;
        }
    }
    return 0;
}

static void check_gnutls(apr_pool_t *p, int bits)
{
    tls_srv_conf_t sc;
    gnutls_priority_t prio;
    const char *err_pos = NULL, *s;
    const unsigned *list;
    int n, i, has12 = 0, has13 = 0;

    memset(&sc, 0, sizeof(sc));
    sc.protocols = bits;
    s = tls_conf_priority_string(p, &sc);
    FUZZ_CHECK(gnutls_priority_init2(&prio, s, &err_pos, 0) == 0,
               "GnuTLS refuses '%s' at '%s'", s, err_pos ? err_pos : "?");
    n = gnutls_priority_protocol_list(prio, &list);
    for (i = 0; i < n; ++i) {
        has12 |= list[i] == GNUTLS_TLS1_2;
        has13 |= list[i] == GNUTLS_TLS1_3;
        /* the system's GnuTLS configuration may disable old versions */
        FUZZ_CHECK((list[i] != GNUTLS_TLS1_0 || (bits & TLS_PROTO_TLS1_0))
                   && (list[i] != GNUTLS_TLS1_1 || (bits & TLS_PROTO_TLS1_1)),
                   "'%s' enables %s", s, gnutls_protocol_get_name(list[i]));
    }
    FUZZ_CHECK(has12 == !!(bits & TLS_PROTO_TLS1_2)
               && has13 == !!(bits & TLS_PROTO_TLS1_3),
               "'%s' enables TLS 1.2: %d, 1.3: %d", s, has12, has13);
    gnutls_priority_deinit(prio);
}

/* "all" minus what is missing, as mod_ssl users write it */
static const char *canonical(apr_pool_t *p, int bits)
{
    static const struct { int bit; const char *name; } v[] = {
        { TLS_PROTO_TLS1_0, "TLSv1" }, { TLS_PROTO_TLS1_1, "TLSv1.1" },
        { TLS_PROTO_TLS1_2, "TLSv1.2" }, { TLS_PROTO_TLS1_3, "TLSv1.3" },
    };
    const char *s = "all";
    size_t i;

    for (i = 0; i < sizeof(v) / sizeof(v[0]); ++i) {
        if (!(bits & v[i].bit)) {
            s = apr_pstrcat(p, s, " -", v[i].name, NULL);
        }
    }
    return s;
}

static void check_last_word(apr_pool_t *p, const char *spec, int bits)
{
    const char *w, *last = NULL;
    int named;

    while (*(w = ap_getword_conf(p, &spec))) {
        last = w;
    }
    FUZZ_CHECK(last != NULL, "no word, yet versions %x", bits);
    if (*last == '-') {
        named = word_bits(last + 1);
        FUZZ_CHECK(named && !(bits & named), "'%s' leaves %x", last, bits);
    }
    else {
        named = word_bits(last + (*last == '+'));
        FUZZ_CHECK(named && (bits & named) == named, "'%s' leaves %x",
                   last, bits);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool_begin();
    const char *spec = fuzz_string(p, data, size), *err, *herr;
    fuzz_directive_t fd;
    int bits = -1, again = -1;

    err = tls_conf_parse_protocol(p, spec, &bits);
    if (err) {
        FUZZ_CHECK(*err && bits == -1, "error '%s', versions %x", err, bits);
    }
    else {
        FUZZ_CHECK(!(bits & ~TLS_PROTO_ALL)
                   && (bits & (TLS_PROTO_TLS1_2 | TLS_PROTO_TLS1_3)),
                   "versions %x", bits);
        check_last_word(p, spec, bits);
        FUZZ_CHECK(!tls_conf_parse_protocol(p, canonical(p, bits), &again)
                   && again == bits, "'%s' reads as %x, not %x",
                   canonical(p, bits), again, bits);
        check_gnutls(p, bits);
    }
    fuzz_directive_init(&fd, p, "TLSProtocol");
    herr = fuzz_directive_run(&fd, spec);
    if (err) {
        FUZZ_CHECK(herr && !strcmp(herr, apr_pstrcat(p, "TLSProtocol: ", err,
                                                     NULL)),
                   "handler says '%s', parser '%s'", herr ? herr : "", err);
    }
    else {
        FUZZ_CHECK(!herr && fd.sc->protocols == bits,
                   "handler says '%s', stores %x, not %x", herr ? herr : "",
                   fd.sc->protocols, bits);
    }
    fuzz_pool_end(p);
    return 0;
}
