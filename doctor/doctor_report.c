/* seismo doctor: the list of check results and its small queries. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "doctor.h"
#include "log.h"

void doctor_add(struct doctor_report *report, const char *name, enum doctor_status status,
		enum doctor_need need, const char *fmt, ...)
{
	struct doctor_check *check;
	va_list ap;

	if (report->count >= DOCTOR_MAX_CHECKS) {
		log_error("doctor: more than %d checks, dropping '%s'", DOCTOR_MAX_CHECKS, name);
		return;
	}
	check = &report->checks[report->count++];
	snprintf(check->name, sizeof(check->name), "%s", name);
	check->status = status;
	check->need = need;
	va_start(ap, fmt);
	vsnprintf(check->detail, sizeof(check->detail), fmt, ap);
	va_end(ap);
}

const struct doctor_check *doctor_find(const struct doctor_report *report, const char *name)
{
	for (size_t i = 0; i < report->count; i++)
		if (!strcmp(report->checks[i].name, name))
			return &report->checks[i];
	return NULL;
}

bool doctor_passed(const struct doctor_report *report, const char *name)
{
	const struct doctor_check *check = doctor_find(report, name);

	return check && check->status == DOCTOR_OK;
}

const char *doctor_status_name(enum doctor_status status)
{
	switch (status) {
	case DOCTOR_OK:
		return "ok";
	case DOCTOR_WARN:
		return "warn";
	case DOCTOR_FAIL:
		return "fail";
	case DOCTOR_SKIP:
		return "skip";
	}
	return "?";
}

const char *doctor_need_name(enum doctor_need need)
{
	switch (need) {
	case DOCTOR_NEED_INFO:
		return "info";
	case DOCTOR_NEED_AGENT:
		return "agent";
	case DOCTOR_NEED_CHAOS:
		return "chaos";
	}
	return "?";
}
