/* HTTP probes over libcurl. */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "chaos_probe.h"
#include "chaos_spec.h"
#include "log.h"

static const char *const mode_names[] = { "SOT", "EOT", "Edge", "Continuous", "OnChaos" };

void chaos_probe_init(struct chaos_probe *probe)
{
	memset(probe, 0, sizeof(*probe));
	snprintf(probe->name, sizeof(probe->name), "probe");
	probe->criteria = CHAOS_CRITERIA_EQ;
	probe->codes[0] = 200;
	probe->code_count = 1;
	probe->timeout_ns = 5000000000ULL;
	probe->interval_ns = 2000000000ULL;
	probe->retries = 1;
	probe->mode = CHAOS_PROBE_CONTINUOUS;
}

int chaos_probe_parse_mode(const char *text)
{
	for (size_t i = 0; i < sizeof(mode_names) / sizeof(mode_names[0]); i++)
		if (!strcasecmp(text, mode_names[i]))
			return (int)i;
	return -1;
}

const char *chaos_probe_mode_name(enum chaos_probe_mode mode)
{
	return mode_names[mode];
}

static int parse_codes(struct chaos_probe *probe, const char *codes)
{
	char *copy = strdup(codes), *item, *save = NULL;
	int err = 0;

	if (!copy)
		return -ENOMEM;
	probe->code_count = 0;
	for (item = strtok_r(copy, "[], |", &save); item; item = strtok_r(NULL, "[], |", &save)) {
		char *end;
		long code = strtol(item, &end, 10);

		if (*end || code < 100 || code > 599 ||
		    probe->code_count == CHAOS_PROBE_MAX_CODES) {
			err = -EINVAL;
			break;
		}
		probe->codes[probe->code_count++] = code;
	}
	free(copy);
	if (!err && probe->code_count == 0)
		err = -EINVAL;
	return err;
}

int chaos_probe_set_criteria(struct chaos_probe *probe, const char *criteria, const char *codes)
{
	if (!strcmp(criteria, "=="))
		probe->criteria = CHAOS_CRITERIA_EQ;
	else if (!strcmp(criteria, "!="))
		probe->criteria = CHAOS_CRITERIA_NE;
	else if (!strcasecmp(criteria, "oneOf"))
		probe->criteria = CHAOS_CRITERIA_ONE_OF;
	else {
		log_error("chaos: probe %s: criteria '%s' is not ==, != or oneOf", probe->name,
			  criteria);
		return -EINVAL;
	}
	if (parse_codes(probe, codes) ||
	    (probe->criteria != CHAOS_CRITERIA_ONE_OF && probe->code_count != 1)) {
		log_error("chaos: probe %s: response code(s) '%s' are not HTTP status codes%s",
			  probe->name, codes,
			  probe->criteria != CHAOS_CRITERIA_ONE_OF ? " (one code for == and !=)"
								   : "");
		return -EINVAL;
	}
	return 0;
}

static int parse_cli_option(struct chaos_probe *probe, const char *token)
{
	const char *value = strchr(token, '=');
	char key[32];
	size_t key_len;
	uint64_t ns;
	int mode;

	if (!strcmp(token, "stop-on-failure")) {
		probe->stop_on_failure = true;
		return 0;
	}
	if (!value || value == token)
		goto bad;
	if (value[-1] == '!') /* status!=CODE */
		return strncmp(token, "status!=", 8)
			       ? -EINVAL
			       : chaos_probe_set_criteria(probe, "!=", value + 1);
	key_len = (size_t)(value - token);
	if (key_len >= sizeof(key))
		goto bad;
	memcpy(key, token, key_len);
	key[key_len] = '\0';
	value++;
	if (!strcmp(key, "url")) {
		if (strncmp(value, "http://", 7) && strncmp(value, "https://", 8)) {
			log_error("chaos: probe %s: url '%s' is not http:// or https://",
				  probe->name, value);
			return -EINVAL;
		}
		snprintf(probe->url, sizeof(probe->url), "%s", value);
		return 0;
	}
	if (!strcmp(key, "status"))
		return chaos_probe_set_criteria(probe,
						strpbrk(value, ",|") ? "oneOf" : "==", value);
	if (!strcmp(key, "mode")) {
		mode = chaos_probe_parse_mode(value);
		if (mode < 0) {
			log_error("chaos: probe %s: mode '%s' is not SOT, EOT, Edge, Continuous or "
				  "OnChaos",
				  probe->name, value);
			return -EINVAL;
		}
		probe->mode = (enum chaos_probe_mode)mode;
		return 0;
	}
	if (!strcmp(key, "retry") || !strcmp(key, "retries")) {
		char *end;
		long retries = strtol(value, &end, 10);

		if (*end || retries < 0 || retries > 100)
			goto bad;
		probe->retries = (unsigned)retries;
		return 0;
	}
	if (!strcmp(key, "timeout") || !strcmp(key, "interval")) {
		/* Litmus writes "5s"; a bare number is seconds */
		if (chaos_parse_duration(value, 1000000000ULL, &ns) || ns == 0)
			goto bad;
		*(key[0] == 't' ? &probe->timeout_ns : &probe->interval_ns) = ns;
		return 0;
	}
bad:
	log_error("chaos: probe %s: cannot use '%s' (expected url=, status=, status!=, mode=, "
		  "timeout=, interval=, retry=, stop-on-failure)",
		  probe->name, token);
	return -EINVAL;
}

int chaos_probe_parse_cli(const char *text, struct chaos_probe *probe)
{
	char *copy = strdup(text), *token, *save = NULL;
	int err = 0, first = 1;

	if (!copy)
		return -ENOMEM;
	chaos_probe_init(probe);
	for (token = strtok_r(copy, " \t", &save); token && !err;
	     token = strtok_r(NULL, " \t", &save), first = 0) {
		if (first && !strchr(token, '=') && strcmp(token, "stop-on-failure")) {
			snprintf(probe->name, sizeof(probe->name), "%s", token);
			continue;
		}
		err = parse_cli_option(probe, token);
	}
	free(copy);
	if (!err && !probe->url[0]) {
		log_error("chaos: probe %s: no url= given", probe->name);
		err = -EINVAL;
	}
	return err;
}

bool chaos_probe_status_ok(const struct chaos_probe *probe, long status)
{
	switch (probe->criteria) {
	case CHAOS_CRITERIA_EQ:
		return status == probe->codes[0];
	case CHAOS_CRITERIA_NE:
		return status != 0 && status != probe->codes[0];
	case CHAOS_CRITERIA_ONE_OF:
		for (size_t i = 0; i < probe->code_count; i++)
			if (status == probe->codes[i])
				return true;
		return false;
	}
	return false;
}

/* Drops the body: only the status matters. */
static size_t discard_body(char *data, size_t size, size_t count, void *user)
{
	return size * count;
}

/* One HTTP request; returns the status (0 if no response) and fills error. */
static long http_status(const struct chaos_probe *probe, char *error, size_t error_len)
{
	char curl_error[CURL_ERROR_SIZE] = "";
	CURL *curl = curl_easy_init();
	long status = 0;
	CURLcode rc;

	if (!curl) {
		snprintf(error, error_len, "curl_easy_init failed");
		return 0;
	}
	curl_easy_setopt(curl, CURLOPT_URL, probe->url);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)(probe->timeout_ns / 1000000));
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L); /* threads: no SIGALRM */
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard_body);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, curl_error);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "seismo-chaos-probe");
	rc = curl_easy_perform(curl);
	if (rc == CURLE_OK) {
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
		error[0] = '\0';
	} else {
		snprintf(error, error_len, "%s",
			 curl_error[0] ? curl_error : curl_easy_strerror(rc));
	}
	curl_easy_cleanup(curl);
	return status;
}

bool chaos_probe_attempt(const struct chaos_probe *probe, long *status, char *error,
			 size_t error_len)
{
	bool ok = false;

	error[0] = '\0';
	for (unsigned attempt = 0; attempt <= probe->retries && !ok; attempt++) {
		*status = http_status(probe, error, error_len);
		ok = *status != 0 && chaos_probe_status_ok(probe, *status);
		if (!ok && !error[0])
			snprintf(error, error_len, "status %ld does not meet the criteria",
				 *status);
	}
	if (ok)
		error[0] = '\0';
	return ok;
}

void chaos_probe_record(struct chaos_probe *probe, bool ok, long status, const char *error)
{
	probe->runs++;
	if (ok)
		probe->passed++;
	else
		probe->failed++;
	probe->last_status = status;
	snprintf(probe->last_error, sizeof(probe->last_error), "%s", error);
}

bool chaos_probe_run(struct chaos_probe *probe)
{
	char error[sizeof(probe->last_error)];
	long status = 0;
	bool ok = chaos_probe_attempt(probe, &status, error, sizeof(error));

	chaos_probe_record(probe, ok, status, error);
	return ok;
}

int chaos_probe_global_init(void)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
		log_error("chaos: curl_global_init failed");
		return -EIO;
	}
	return 0;
}

void chaos_probe_global_cleanup(void)
{
	curl_global_cleanup();
}
