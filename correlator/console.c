#include "console.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "hash.h"

/*
 * The bundle's files, included byte for byte by the assembler at build
 * time (mk/web.mk passes the directory; the build depends on its stamp),
 * each plain and gzipped: browsers get the gzip copy, a client that does
 * not accept gzip (curl without --compressed) the plain one.
 */
#ifndef CONSOLE_ASSET_DIR
#error "CONSOLE_ASSET_DIR must name the built console (mk/web.mk sets it)"
#endif

#define EMBED(sym, file)                                       \
	__asm__(".pushsection .rodata\n"                       \
		".balign 16\n"                                 \
		".global " #sym "\n"                           \
		".hidden " #sym "\n" #sym ":\n"                \
		".incbin \"" CONSOLE_ASSET_DIR "/" file "\"\n" \
		".global " #sym "_end\n"                       \
		".hidden " #sym "_end\n" #sym "_end:\n"        \
		".popsection\n");                              \
	extern const unsigned char sym[], sym##_end[]

EMBED(console_index, "index.html");
EMBED(console_index_gz, "index.html.gz");
EMBED(console_js, "app.js");
EMBED(console_js_gz, "app.js.gz");
EMBED(console_css, "app.css");
EMBED(console_css_gz, "app.css.gz");

struct asset {
	const char *path; /* under /console/ */
	const char *type;
	const unsigned char *plain, *plain_end, *gz, *gz_end;
	char etag[24]; /* of the plain bytes, filled once */
};

static struct asset assets[] = {
	{ "", "text/html; charset=utf-8", console_index, console_index_end, console_index_gz,
	  console_index_gz_end, "" },
	{ "index.html", "text/html; charset=utf-8", console_index, console_index_end,
	  console_index_gz, console_index_gz_end, "" },
	{ "app.js", "text/javascript; charset=utf-8", console_js, console_js_end, console_js_gz,
	  console_js_gz_end, "" },
	{ "app.css", "text/css; charset=utf-8", console_css, console_css_end, console_css_gz,
	  console_css_gz_end, "" },
};

static pthread_once_t etags_once = PTHREAD_ONCE_INIT;

/* FNV-1a: the ETag changes with the bytes, so a new build is fetched anew. */
static void compute_etags(void)
{
	for (size_t i = 0; i < sizeof(assets) / sizeof(assets[0]); i++) {
		uint64_t h = fnv1a64(FNV64_OFFSET, assets[i].plain,
				     (size_t)(assets[i].plain_end - assets[i].plain));
		snprintf(assets[i].etag, sizeof(assets[i].etag), "\"%016llx\"",
			 (unsigned long long)h);
	}
}

bool corr_console_handles(const char *url)
{
	return !strcmp(url, "/") || !strcmp(url, "/console") || !strncmp(url, "/console/", 9);
}

/* "gzip" among Accept-Encoding's codings, and not with q=0. */
static bool accepts_gzip(struct MHD_Connection *c)
{
	const char *ae =
		MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT_ENCODING);
	const char *p = ae;

	while (p && (p = strcasestr(p, "gzip"))) {
		bool start = p == ae || p[-1] == ',' || p[-1] == ' ';
		const char *q = p + 4;
		while (*q == ' ')
			q++;
		if (start && (*q == 0 || *q == ','))
			return true;
		if (start && *q == ';') {
			const char *v = strstr(q, "q=");
			return !(v && (!strncmp(v, "q=0,", 4) || !strcmp(v, "q=0") ||
				       !strncmp(v, "q=0.0", 5)));
		}
		p += 4;
	}
	return false;
}

static void add_common_headers(struct MHD_Response *r)
{
	/* The page only ever talks to its own origin; no framing (approve
	 * buttons must not be clickjacked), no sniffing, no referrer. */
	MHD_add_response_header(r, "Content-Security-Policy",
				"default-src 'self'; img-src 'self' data:; style-src 'self' "
				"'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; "
				"form-action 'self'");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "X-Frame-Options", "DENY");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
}

static enum MHD_Result send_small(struct MHD_Connection *c, unsigned status, const char *type,
				  const void *data, size_t len, const char *location)
{
	struct MHD_Response *r =
		MHD_create_response_from_buffer(len, (void *)data, MHD_RESPMEM_PERSISTENT);
	if (!r)
		return MHD_NO;
	add_common_headers(r);
	if (type)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (location)
		MHD_add_response_header(r, MHD_HTTP_HEADER_LOCATION, location);
	enum MHD_Result ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

enum MHD_Result corr_console_reply(struct MHD_Connection *c, const char *url)
{
	static const char not_found[] = "no such file in the console\n";

	if (!strcmp(url, "/") || !strcmp(url, "/console"))
		return send_small(c, MHD_HTTP_FOUND, "text/plain", "", 0, "/console/");
	pthread_once(&etags_once, compute_etags);
	for (size_t i = 0; i < sizeof(assets) / sizeof(assets[0]); i++) {
		const struct asset *a = &assets[i];
		if (strcmp(url + 9, a->path))
			continue;
		const char *inm = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
							      MHD_HTTP_HEADER_IF_NONE_MATCH);
		bool gz = accepts_gzip(c);
		bool fresh = inm && !strcmp(inm, a->etag);
		struct MHD_Response *r =
			fresh ? MHD_create_response_from_buffer(0, (void *)"",
								MHD_RESPMEM_PERSISTENT)
			: gz  ? MHD_create_response_from_buffer((size_t)(a->gz_end - a->gz),
								(void *)a->gz,
								MHD_RESPMEM_PERSISTENT)
			      : MHD_create_response_from_buffer((size_t)(a->plain_end - a->plain),
								(void *)a->plain,
								MHD_RESPMEM_PERSISTENT);
		if (!r)
			return MHD_NO;
		add_common_headers(r);
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, a->type);
		MHD_add_response_header(r, MHD_HTTP_HEADER_ETAG, a->etag);
		MHD_add_response_header(r, MHD_HTTP_HEADER_VARY, "Accept-Encoding");
		if (gz && !fresh)
			MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
		enum MHD_Result ret =
			MHD_queue_response(c, fresh ? MHD_HTTP_NOT_MODIFIED : MHD_HTTP_OK, r);
		MHD_destroy_response(r);
		return ret;
	}
	return send_small(c, MHD_HTTP_NOT_FOUND, "text/plain; charset=utf-8", not_found,
			  sizeof(not_found) - 1, NULL);
}
