/* The state file of baselines: atomic replace, version and checksum, bad files moved aside. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <zlib.h>

#include "fileio.h"
#include "log.h"
#include "state.h"

/* Layout checks: a build whose struct differs writes a file others reject. */
struct state_header {
	char magic[8];
	uint32_t version;
	uint32_t series_size; /* sizeof(struct detector_series) of the writer */
	uint32_t count;	      /* records that follow */
	uint32_t crc;	      /* crc32 of everything after the header */
};

struct state_record {
	uint16_t service_len;
	uint16_t endpoint_len; /* 0: the service's own metric */
	uint8_t metric;
	uint8_t pad[3];
	/* then service_len + endpoint_len bytes of names, then struct detector_series */
};

#define STATE_MAX_BYTES (1UL << 30)

struct writer {
	FILE *file;
	uLong crc;
	uint32_t count;
	int error;
};

static int write_bytes(struct writer *w, const void *data, size_t len)
{
	if (w->error)
		return -1;
	if (len == 0)
		return 0; /* crc32() with a NULL buffer would reset the checksum */
	if (fwrite(data, 1, len, w->file) != len) {
		w->error = errno ? errno : EIO;
		return -1;
	}
	w->crc = crc32(w->crc, data, (uInt)len);
	return 0;
}

static int write_series(const char *service, const char *endpoint, enum detector_metric metric,
			const struct detector_series *series, void *user)
{
	struct writer *w = user;
	size_t slen = strlen(service), elen = endpoint ? strlen(endpoint) : 0;
	struct state_record rec = { .metric = (uint8_t)metric };

	if (series->baseline.samples == 0)
		return 0; /* nothing learnt yet: not worth a record */
	if (slen > UINT16_MAX || elen > UINT16_MAX)
		return 0;
	rec.service_len = (uint16_t)slen;
	rec.endpoint_len = (uint16_t)elen;
	if (write_bytes(w, &rec, sizeof(rec)) || write_bytes(w, service, slen) ||
	    write_bytes(w, endpoint, elen) || write_bytes(w, series, sizeof(*series)))
		return -1;
	w->count++;
	return 0;
}

/* fsync of the directory makes the rename itself durable. */
static void sync_directory(const char *path)
{
	char *copy = strdup(path);
	int fd;

	if (!copy)
		return;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	free(copy);
}

int state_save(const struct detector *det, const char *path)
{
	struct state_header header = { .version = STATE_VERSION,
				       .series_size = sizeof(struct detector_series) };
	struct writer w = { .crc = crc32(0, NULL, 0) };
	char tmp[PATH_MAX];
	int fd = -1, rc = -1;

	memcpy(header.magic, STATE_MAGIC, sizeof(header.magic));
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
		log_error("state: %s: path too long", path);
		return -1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || !(w.file = fdopen(fd, "wb"))) {
		log_error("state: creating %s: %s", tmp, strerror(errno));
		goto cleanup;
	}
	fd = -1;
	/* Placeholder header, rewritten once count and checksum are known. */
	if (fwrite(&header, sizeof(header), 1, w.file) != 1) {
		w.error = errno ? errno : EIO;
		goto failed;
	}
	if (detector_foreach_series(det, write_series, &w) || w.error)
		goto failed;
	header.count = w.count;
	header.crc = (uint32_t)w.crc;
	if (fseek(w.file, 0, SEEK_SET) || fwrite(&header, sizeof(header), 1, w.file) != 1 ||
	    fflush(w.file) || fsync(fileno(w.file))) {
		w.error = errno ? errno : EIO;
		goto failed;
	}
	if (fclose(w.file)) {
		w.file = NULL;
		w.error = errno ? errno : EIO;
		goto failed;
	}
	w.file = NULL;
	if (rename(tmp, path)) {
		log_error("state: replacing %s with %s: %s", path, tmp, strerror(errno));
		goto cleanup;
	}
	sync_directory(path);
	log_debug("state: saved %u series to %s", header.count, path);
	return 0;
failed:
	log_error("state: writing %s: %s", tmp, strerror(w.error ? w.error : EIO));
cleanup:
	if (w.file)
		fclose(w.file);
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return rc;
}

/* Reads the whole file; 1 when it does not exist, -1 on a read error. A
 * file over STATE_MAX_BYTES comes back as 0 with no data: the caller moves
 * it aside as corrupt, since nothing that big is ever written. */
static int read_file(const char *path, unsigned char **data, size_t *len)
{
	char *text;

	if (!file_read(path, STATE_MAX_BYTES, &text, len)) {
		*data = (unsigned char *)text;
		return 0;
	}
	*data = NULL;
	*len = 0;
	if (errno == ENOENT)
		return 1;
	if (errno == EFBIG)
		return 0;
	log_error("state: reading %s: %s", path, strerror(errno));
	return -1;
}

/* A restored series must not carry values the state machine never produces. */
static const char *check_series(const struct detector_series *s)
{
	if (s->baseline.method > BASELINE_ZSCORE_7D)
		return "unknown baseline method";
	if (s->phase > DETECTOR_FIRING || s->severity > DETECTOR_CRITICAL)
		return "unknown anomaly state";
	if (s->baseline.hourly_count > BASELINE_HOURS_PER_WEEK ||
	    s->baseline.hourly_next >= BASELINE_HOURS_PER_WEEK)
		return "hourly ring out of range";
	return NULL;
}

/*
 * Walks the records; with det NULL only validates. Returns the number of
 * records, or -1 with *why set.
 */
static long walk_records(const unsigned char *data, size_t len, struct detector *det,
			 const char **why)
{
	const struct state_header *h = (const void *)data;
	size_t off = sizeof(*h);
	long restored = 0;

	if (len < sizeof(*h) || memcmp(h->magic, STATE_MAGIC, sizeof(h->magic))) {
		*why = "not a seismo state file";
		return -1;
	}
	if (h->version != STATE_VERSION || h->series_size != sizeof(struct detector_series)) {
		*why = "written by an incompatible version";
		return -1;
	}
	if (!det && h->crc != (uint32_t)crc32(crc32(0, NULL, 0), data + off, (uInt)(len - off))) {
		*why = "checksum mismatch (corrupt or truncated)";
		return -1;
	}
	for (uint32_t i = 0; i < h->count; i++) {
		struct state_record rec;
		struct detector_series series;
		char service[UINT16_MAX + 1], endpoint[UINT16_MAX + 1];

		if (len - off < sizeof(rec)) {
			*why = "truncated record";
			return -1;
		}
		memcpy(&rec, data + off, sizeof(rec));
		off += sizeof(rec);
		if (len - off < (size_t)rec.service_len + rec.endpoint_len + sizeof(series) ||
		    rec.service_len == 0 || rec.metric >= DETECTOR_METRICS) {
			*why = "malformed record";
			return -1;
		}
		memcpy(service, data + off, rec.service_len);
		service[rec.service_len] = '\0';
		off += rec.service_len;
		memcpy(endpoint, data + off, rec.endpoint_len);
		endpoint[rec.endpoint_len] = '\0';
		off += rec.endpoint_len;
		memcpy(&series, data + off, sizeof(series));
		off += sizeof(series);
		if (strlen(service) != rec.service_len || strlen(endpoint) != rec.endpoint_len) {
			*why = "name with a NUL byte";
			return -1;
		}
		if ((*why = check_series(&series)))
			return -1;
		if (det && detector_restore_series(det, service, rec.endpoint_len ? endpoint : NULL,
						   rec.metric, &series) == 0)
			restored++;
	}
	if (off != len) {
		*why = "trailing bytes after the last record";
		return -1;
	}
	return det ? restored : (long)h->count;
}

static int move_aside(const char *path, const char *why)
{
	char aside[PATH_MAX];

	if (snprintf(aside, sizeof(aside), "%s.bad-%lld", path, (long long)time(NULL)) >=
	    (int)sizeof(aside)) {
		log_error("state: %s: path too long to move aside", path);
		return -1;
	}
	if (rename(path, aside)) {
		log_error("state: %s is unusable (%s) and could not be moved to %s: %s", path, why,
			  aside, strerror(errno));
		return -1;
	}
	log_warn("state: %s is unusable (%s); moved to %s, starting with fresh baselines", path,
		 why, aside);
	return 0;
}

int state_load(struct detector *det, const char *path)
{
	unsigned char *data;
	size_t len;
	const char *why = NULL;
	long n;
	int rc = read_file(path, &data, &len);

	if (rc > 0) {
		log_info("state: %s does not exist yet, starting with fresh baselines", path);
		return 0;
	}
	if (rc < 0)
		return -1;
	if (!data) {
		rc = move_aside(path, "larger than any state file") ? -1 : 0;
		goto out;
	}
	/* Validate everything before touching the detector: all or nothing. */
	if (walk_records(data, len, NULL, &why) < 0) {
		rc = move_aside(path, why) ? -1 : 0;
		goto out;
	}
	n = walk_records(data, len, det, &why);
	if (n < 0) {
		rc = move_aside(path, why) ? -1 : 0;
		goto out;
	}
	log_info("state: restored %ld series from %s", n, path);
	rc = (int)n;
out:
	free(data);
	return rc;
}
