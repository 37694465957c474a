/* Reading a whole file, written once for every module: configs, spooled
 * batches, saved state, tokens and URLs kept in files. */
#ifndef SEISMO_FILEIO_H
#define SEISMO_FILEIO_H

#include <stddef.h>

/* Reads path into a malloc'd buffer with a NUL after the last byte (not
 * counted in *len). A file over max bytes fails with EFBIG, before it is
 * read. Returns 0, or -1 with errno set (ENOENT, EACCES, EFBIG, ...). */
int file_read(const char *path, size_t max, char **data, size_t *len);

/* A small file holding one value (a token, a URL): read as above, with
 * trailing whitespace and newlines stripped. NULL with errno set. */
char *file_read_trimmed(const char *path, size_t max);

#endif
