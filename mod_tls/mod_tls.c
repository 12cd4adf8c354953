/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * mod_tls: TLS for Apache httpd over GnuTLS. This file only wires the
 * module's parts into httpd; each part lives in its own tls_*.c. */
#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <ap_release.h>

#include "tls_authz.h"
#include "tls_cache.h"
#include "tls_client_ocsp.h"
#include "tls_config.h"
#include "tls_filter.h"
#include "tls_handshake.h"
#include "tls_cred.h"
#include "tls_md.h"
#include "tls_staple.h"
#include "tls_stapler.h"
#include "tls_stats.h"
#include "tls_vars.h"

static void tls_register_hooks(apr_pool_t *p)
{
    tls_conf_register_hooks(p);
    tls_cred_register_hooks(p);
    tls_md_register_hooks(p);
    tls_staple_register_hooks(p);
    tls_stapler_register_hooks(p);
    tls_filter_register(p);
    tls_handshake_register_hooks(p);
    tls_vars_register_hooks(p);
    tls_authz_register_hooks(p);
    tls_cache_register_hooks(p);
    tls_client_ocsp_register_hooks(p);
    tls_stats_register_hooks(p);
}

AP_DECLARE_MODULE(tls) = {
    STANDARD20_MODULE_STUFF,
    tls_conf_create_dir,
    tls_conf_merge_dir,
    tls_conf_create_srv,
    tls_conf_merge_srv,
    tls_conf_cmds,
    tls_register_hooks,
#if defined(AP_MODULE_FLAG_ALWAYS_MERGE)
    AP_MODULE_FLAG_ALWAYS_MERGE,
#endif
};
