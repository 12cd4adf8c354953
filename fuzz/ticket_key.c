/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * TLSSessionTicketKeyFile. There is little to parse: the file must hold
 * exactly 64 bytes, used as they are, and must not be readable by everyone.
 * The target takes that whole path anyway: the input's first two bytes are
 * a file mode, the rest the file's contents; it writes the file, calls the
 * directive's handler as httpd would, and checks that the key is accepted
 * exactly when the size and mode allow and the file can be read, that an
 * accepted key is the file's bytes, that a refused one leaves no key, and
 * that every refusal names the directive and the file. It also calls
 * tls_conf_check_ticket_key() on sizes no file here has (negative, huge). */
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <apr_file_info.h>
#include <apr_strings.h>

#include "fuzz.h"
#include "stubs.h"

static char key_file[256];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *tmp = getenv("TMPDIR");
    char dir[200];

    (void)argc; (void)argv;
    snprintf(dir, sizeof(dir), "%s/mod_tls-fuzz-XXXXXX",
             tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        abort();
    }
    snprintf(key_file, sizeof(key_file), "%s/ticket.key", dir);
    return 0;
}

static void write_key_file(const uint8_t *data, size_t size, mode_t mode)
{
    int fd;

    unlink(key_file);
    fd = open(key_file, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0 || (size && write(fd, data, size) != (ssize_t)size)
        || fchmod(fd, mode) < 0 || close(fd) < 0) {
        perror(key_file);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool_begin();
    fuzz_directive_t fd;
    apr_off_t odd_size;
    mode_t mode;
    const char *err;
    int readable, want_ok;

    if (size < 2) {
        fuzz_pool_end(p);
        return 0;
    }
    mode = (mode_t)((data[0] << 8 | data[1]) & 07777);
    data += 2;
    size -= 2;

    /* any size and permissions: a message or NULL, never a crash */
    memcpy(&odd_size, data, size < sizeof(odd_size) ? size : sizeof(odd_size));
    if (size < sizeof(odd_size)) {
        odd_size = (apr_off_t)size - (apr_off_t)TLS_TICKET_KEY_SIZE;
    }
    err = tls_conf_check_ticket_key(p, odd_size, (apr_fileperms_t)mode);
    FUZZ_CHECK(!err == (odd_size == TLS_TICKET_KEY_SIZE && !(mode & 04)),
               "size %ld, mode %o: '%s'", (long)odd_size, (unsigned)mode,
               err ? err : "accepted");
    if (err) {
        (void)strlen(err);
    }

    write_key_file(data, size, mode);
    readable = access(key_file, R_OK) == 0;
    want_ok = size == TLS_TICKET_KEY_SIZE && !(mode & 04) && readable;
    fuzz_directive_init(&fd, p, "TLSSessionTicketKeyFile");
    err = fuzz_directive_run(&fd, key_file);
    if (want_ok) {
        FUZZ_CHECK(!err, "refused a good key file (mode %o): %s",
                   (unsigned)mode, err);
        FUZZ_CHECK(fd.sc->global->ticket_key.size == TLS_TICKET_KEY_SIZE
                   && !memcmp(fd.sc->global->ticket_key.data, data, size),
                   "the key is not the file's bytes");
    }
    else {
        FUZZ_CHECK(err != NULL, "accepted %zu bytes with mode %o", size,
                   (unsigned)mode);
        FUZZ_CHECK(!strncmp(err, "TLSSessionTicketKeyFile: ", 25)
                   && strstr(err, key_file), "message '%s'", err);
        FUZZ_CHECK(fd.sc->global->ticket_key.data == NULL,
                   "a refused key file left a key");
    }
    fuzz_pool_end(p);
    return 0;
}
