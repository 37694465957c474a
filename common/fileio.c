#include "fileio.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

int file_read(const char *path, size_t max, char **data, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	char *buf = NULL;
	size_t cap, n = 0;
	int err = 0;

	*data = NULL;
	*len = 0;
	if (!f)
		return -1;
	if (fstat(fileno(f), &st)) {
		err = errno;
		goto out;
	}
	/* A regular file is sized up front; a pipe or a /proc file grows the
	 * buffer as it reads, within the same max. */
	if (S_ISREG(st.st_mode) && (unsigned long long)st.st_size > max) {
		err = EFBIG;
		goto out;
	}
	cap = S_ISREG(st.st_mode) ? (size_t)st.st_size : 4096;
	for (;;) {
		char *grown = realloc(buf, cap + 1);

		if (!grown) {
			err = ENOMEM;
			goto out;
		}
		buf = grown;
		n += fread(buf + n, 1, cap + 1 - n, f);
		if (ferror(f)) {
			err = errno ? errno : EIO;
			goto out;
		}
		if (n <= cap && feof(f))
			break;
		if (n > max) {
			err = EFBIG;
			goto out;
		}
		if (n == cap + 1)
			cap = cap * 2 + 1 > max ? max : cap * 2 + 1;
	}
	buf[n] = 0;
	*data = buf;
	*len = n;
	buf = NULL;
out:
	fclose(f);
	free(buf);
	if (err) {
		errno = err;
		return -1;
	}
	return 0;
}

char *file_read_trimmed(const char *path, size_t max)
{
	char *data;
	size_t len;

	if (file_read(path, max, &data, &len))
		return NULL;
	while (len && isspace((unsigned char)data[len - 1]))
		len--;
	data[len] = 0;
	return data;
}
