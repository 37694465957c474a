/* seismo doctor: the report every check writes into, and the checks. */
#ifndef SEISMO_DOCTOR_H
#define SEISMO_DOCTOR_H

#include <stdbool.h>
#include <stddef.h>

enum doctor_status {
	DOCTOR_OK,   /* works */
	DOCTOR_WARN, /* works partly, or is missing but has a fallback */
	DOCTOR_FAIL, /* does not work */
	DOCTOR_SKIP, /* could not be tried (says why) */
};

/* Who is hurt when a check fails: decides the exit status and the verdict. */
enum doctor_need {
	DOCTOR_NEED_INFO,  /* shown, never fatal */
	DOCTOR_NEED_AGENT, /* the agent cannot run without it */
	DOCTOR_NEED_CHAOS, /* `seismo chaos` loses a feature without it */
};

#define DOCTOR_MAX_CHECKS 64
#define DOCTOR_DETAIL_LEN 256

struct doctor_check {
	char name[32];
	enum doctor_status status;
	enum doctor_need need;
	char detail[DOCTOR_DETAIL_LEN];
};

struct doctor_report {
	struct doctor_check checks[DOCTOR_MAX_CHECKS];
	size_t count;
	/* Facts later checks depend on, filled in by the system checks. */
	bool have_bpf;	       /* the bpf() syscall creates maps for us */
	bool have_netns;       /* we may unshare a throwaway network namespace */
	char tracefs[256];     /* where tracefs is mounted, "" when it is not */
	unsigned long map_mib; /* size of the test map (--map-mib) */
};

void doctor_add(struct doctor_report *report, const char *name, enum doctor_status status,
		enum doctor_need need, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
const struct doctor_check *doctor_find(const struct doctor_report *report, const char *name);
bool doctor_passed(const struct doctor_report *report, const char *name);
const char *doctor_status_name(enum doctor_status status);
const char *doctor_need_name(enum doctor_need need);

/* doctor_system.c: kernel, BTF, privileges, mounts, memory limits. */
void doctor_check_kernel(struct doctor_report *report);
void doctor_check_btf(struct doctor_report *report);
void doctor_check_privileges(struct doctor_report *report);
void doctor_check_mounts(struct doctor_report *report);
void doctor_check_memory(struct doctor_report *report);
/* Finds the first mount of fstype in a /proc/mounts-format file; 0 or -errno. */
int doctor_find_mount(const char *mounts_file, const char *fstype, char *dir, size_t len);

/* doctor_hooks.c: which BPF program and map types load and attach. */
void doctor_check_hooks(struct doctor_report *report);

/* doctor_qdisc.c: whether the fq and netem qdiscs exist. */
void doctor_check_qdiscs(struct doctor_report *report);

#endif
