/*
 * One HTTP request for the webhook, kubernetes and agent steps (libcurl,
 * like the receivers' sender), with a bearer token, a CA file, and the
 * response kept (bounded) for the audit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "action_int.h"

struct sink {
	char *buf;
	size_t len, max;
};

static size_t collect(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct sink *s = arg;
	size_t n = size * nmemb, take = n;

	if (s->len + take > s->max)
		take = s->max - s->len;
	if (take) {
		char *g = realloc(s->buf, s->len + take + 1);
		if (!g)
			return 0;
		s->buf = g;
		memcpy(s->buf + s->len, ptr, take);
		s->len += take;
		s->buf[s->len] = 0;
	}
	return n;
}

long action_http_do(const struct action_http *rq, char **response, char *err, size_t errlen)
{
	CURL *c = curl_easy_init();
	struct curl_slist *hdr = NULL;
	struct sink sink = { .max = rq->max_response ? rq->max_response : 65536 };
	char ebuf[CURL_ERROR_SIZE] = "", line[4200];
	long status = 0;

	*response = NULL;
	if (!c) {
		snprintf(err, errlen, "curl_easy_init failed");
		return 0;
	}
	if (rq->body) {
		snprintf(line, sizeof(line), "Content-Type: %s",
			 rq->content_type ? rq->content_type : "application/json");
		hdr = curl_slist_append(hdr, line);
	}
	hdr = curl_slist_append(hdr, "Accept: application/json");
	if (rq->bearer) {
		snprintf(line, sizeof(line), "Authorization: Bearer %s", rq->bearer);
		hdr = curl_slist_append(hdr, line);
	}
	curl_easy_setopt(c, CURLOPT_URL, rq->url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, rq->method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	if (rq->body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, rq->body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(rq->body));
	}
	if (rq->ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, rq->ca_file);
	if (rq->insecure) {
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)rq->timeout_ms);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "seismo-correlator/" SEISMO_VERSION);
	CURLcode rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	else
		snprintf(err, errlen, "%s", ebuf[0] ? ebuf : curl_easy_strerror(rc));
	curl_slist_free_all(hdr);
	curl_easy_cleanup(c);
	*response = sink.buf;
	return status;
}
