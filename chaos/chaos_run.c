/* The experiment runner: probes, chaos, countdown, rollback, verdict. */
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "chaos_kind.h"
#include "chaos_maps.h"
#include "chaos_run.h"
#include "log.h"

#define NS_PER_S 1000000000ULL
#define PLAIN_PROGRESS_EVERY_NS (10 * NS_PER_S)

static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig)
{
	stop_signal = sig;
}

/* Shared by the main loop and the probe threads. */
struct runner {
	struct chaos_experiment *exp;
	pthread_mutex_t lock;
	pthread_cond_t wake; /* a probe failed, or threads must stop */
	int threads_stop[2]; /* [0] Continuous, [1] OnChaos */
	int abort;	     /* a stop-on-failure probe failed */
	int stopped_outside; /* someone ran `seismo chaos stop` */
	int tty;
	FILE *out;
};

struct probe_thread {
	struct runner *runner;
	struct chaos_probe *probe;
	int group; /* index into threads_stop */
	pthread_t thread;
	int started;
};

const char *chaos_experiment_name(const struct chaos_experiment *exp)
{
	return chaos_kind_of(exp)->name(exp);
}

static struct timespec deadline_after(uint64_t ns)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ns += (uint64_t)ts.tv_nsec;
	ts.tv_sec += (time_t)(ns / NS_PER_S);
	ts.tv_nsec = (long)(ns % NS_PER_S);
	return ts;
}

/* Records a run; a failure of a stop-on-failure probe aborts at once. */
static void record_run(struct runner *runner, struct chaos_probe *probe, int ok, long status,
		       const char *error)
{
	pthread_mutex_lock(&runner->lock);
	chaos_probe_record(probe, ok, status, error);
	if (!ok) {
		if (!runner->tty)
			fprintf(runner->out, "probe %s failed: %s\n", probe->name, error);
		if (probe->stop_on_failure && !runner->abort) {
			runner->abort = 1;
			snprintf(runner->exp->abort_reason, sizeof(runner->exp->abort_reason),
				 "probe %.60s failed (%.150s) and has stop-on-failure", probe->name,
				 error);
			pthread_cond_broadcast(&runner->wake);
		}
	}
	pthread_mutex_unlock(&runner->lock);
}

static int run_probe_once(struct runner *runner, struct chaos_probe *probe)
{
	char error[sizeof(probe->last_error)];
	long status = 0;
	int ok = chaos_probe_attempt(probe, &status, error, sizeof(error));

	record_run(runner, probe, ok, status, error);
	return ok;
}

static void *probe_thread_main(void *arg)
{
	struct probe_thread *pt = arg;
	struct runner *runner = pt->runner;

	for (;;) {
		struct timespec until;

		pthread_mutex_lock(&runner->lock);
		if (runner->threads_stop[pt->group] || runner->abort) {
			pthread_mutex_unlock(&runner->lock);
			break;
		}
		pthread_mutex_unlock(&runner->lock);
		run_probe_once(runner, pt->probe);
		until = deadline_after(pt->probe->interval_ns);
		pthread_mutex_lock(&runner->lock);
		while (!runner->threads_stop[pt->group] && !runner->abort &&
		       pthread_cond_timedwait(&runner->wake, &runner->lock, &until) != ETIMEDOUT)
			;
		pthread_mutex_unlock(&runner->lock);
	}
	return NULL;
}

static int start_probe_threads(struct runner *runner, struct probe_thread *threads,
			       enum chaos_probe_mode mode, int group)
{
	struct chaos_experiment *exp = runner->exp;
	sigset_t all, old;
	int err = 0;

	/* signals belong to the main loop */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (size_t i = 0; i < exp->probe_count && !err; i++) {
		if (exp->probes[i].mode != mode)
			continue;
		threads[i] = (struct probe_thread){ .runner = runner,
						    .probe = &exp->probes[i],
						    .group = group };
		err = pthread_create(&threads[i].thread, NULL, probe_thread_main, &threads[i]);
		if (err)
			log_error("chaos: starting probe %s: %s", exp->probes[i].name,
				  strerror(err));
		else
			threads[i].started = 1;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return err ? -err : 0;
}

static void stop_probe_threads(struct runner *runner, struct probe_thread *threads, int group)
{
	pthread_mutex_lock(&runner->lock);
	runner->threads_stop[group] = 1;
	pthread_cond_broadcast(&runner->wake);
	pthread_mutex_unlock(&runner->lock);
	for (size_t i = 0; i < runner->exp->probe_count; i++) {
		if (threads[i].started && threads[i].group == group) {
			pthread_join(threads[i].thread, NULL);
			threads[i].started = 0;
		}
	}
}

/* The one-shot probes of a phase: SOT/EOT plus Edge on both sides. */
static void run_edge_probes(struct runner *runner, enum chaos_probe_mode mode)
{
	struct chaos_experiment *exp = runner->exp;

	for (size_t i = 0; i < exp->probe_count && !runner->abort && !stop_signal; i++)
		if (exp->probes[i].mode == mode || exp->probes[i].mode == CHAOS_PROBE_EDGE)
			run_probe_once(runner, &exp->probes[i]);
}

static void print_progress(struct runner *runner, uint64_t now, uint64_t end, int final)
{
	struct chaos_experiment *exp = runner->exp;
	double left = end > now ? (double)(end - now) / 1e9 : 0;

	pthread_mutex_lock(&runner->lock);
	fprintf(runner->out, "%s%s: %5.1f s left", runner->tty ? "\r\033[K" : "",
		chaos_experiment_name(exp), left);
	if (chaos_kind_of(exp)->progress)
		chaos_kind_of(exp)->progress(exp, runner->out);
	for (size_t i = 0; i < exp->probe_count; i++) {
		const struct chaos_probe *p = &exp->probes[i];

		fprintf(runner->out, "  %s %s %u/%u", p->name, p->failed ? "FAIL" : "ok", p->passed,
			p->runs);
	}
	fprintf(runner->out, "%s", runner->tty && !final ? "" : "\n");
	fflush(runner->out);
	pthread_mutex_unlock(&runner->lock);
}

/* Waits until the end, a signal, an abort or an outside `stop`, with the
 * kind's ticks on schedule (kills). */
static void chaos_loop(struct runner *runner, uint64_t end_ns)
{
	struct chaos_experiment *exp = runner->exp;
	const struct chaos_kind *kind = chaos_kind_of(exp);
	uint64_t next_tick = chaos_now_ns(), next_plain = 0;
	unsigned seed = (unsigned)(chaos_now_ns() ^ (uint64_t)getpid());

	for (;;) {
		uint64_t now = chaos_now_ns();
		struct timespec until;

		if (stop_signal) {
			snprintf(exp->abort_reason, sizeof(exp->abort_reason),
				 "interrupted by %s: rolled back", strsignal(stop_signal));
			break;
		}
		if (runner->abort || now >= end_ns)
			break;
		if (kind->still_active && !kind->still_active(exp)) {
			snprintf(exp->abort_reason, sizeof(exp->abort_reason),
				 "stopped from outside ('seismo chaos stop')");
			runner->stopped_outside = 1;
			break;
		}
		if (kind->tick && now >= next_tick) {
			if (runner->tty)
				fprintf(runner->out, "\r\033[K");
			next_tick += kind->tick(exp, &seed, runner->out);
		}
		if (runner->tty || now >= next_plain) {
			print_progress(runner, now, end_ns, 0);
			next_plain = now + PLAIN_PROGRESS_EVERY_NS;
		}
		until = deadline_after(runner->tty ? 200000000ULL : 100000000ULL);
		pthread_mutex_lock(&runner->lock);
		if (!runner->abort)
			pthread_cond_timedwait(&runner->wake, &runner->lock, &until);
		pthread_mutex_unlock(&runner->lock);
	}
	print_progress(runner, chaos_now_ns(), end_ns, 1);
}

static void decide_verdict(struct chaos_experiment *exp, int interrupted)
{
	size_t passed = 0, judged = 0;

	for (size_t i = 0; i < exp->probe_count; i++) {
		if (!exp->probes[i].runs)
			continue;
		judged++;
		passed += exp->probes[i].failed == 0;
	}
	exp->probe_success_percent =
		exp->probe_count ? 100.0 * (double)passed / (double)exp->probe_count : 100.0;
	if (interrupted)
		snprintf(exp->verdict, sizeof(exp->verdict), "Stopped");
	else if (passed == exp->probe_count && judged == exp->probe_count)
		snprintf(exp->verdict, sizeof(exp->verdict), "Pass");
	else
		snprintf(exp->verdict, sizeof(exp->verdict), "Fail");
}

static json_t *probe_json(const struct chaos_probe *p)
{
	return json_pack("{s:s, s:s, s:s, s:i, s:i, s:i, s:i, s:s, s:s}", "name", p->name, "url",
			 p->url, "mode", chaos_probe_mode_name(p->mode), "runs",
			 (json_int_t)p->runs, "passed", (json_int_t)p->passed, "failed",
			 (json_int_t)p->failed, "last_status", (json_int_t)p->last_status,
			 "last_error", p->last_error, "status",
			 p->runs && !p->failed ? "Passed" : "Failed");
}

int chaos_run_write_report(const struct chaos_experiment *exp, const char *path)
{
	json_t *root, *probes = json_array();
	int err = 0;

	for (size_t i = 0; i < exp->probe_count; i++)
		json_array_append_new(probes, probe_json(&exp->probes[i]));
	root = json_pack("{s:s, s:s, s:f, s:s, s:o, s:o, s:I}", "experiment",
			 chaos_experiment_name(exp), "verdict", exp->verdict,
			 "probe_success_percentage", exp->probe_success_percent, "abort_reason",
			 exp->abort_reason, "chaos", chaos_kind_of(exp)->report(exp), "probes",
			 probes, "finished_at", (json_int_t)time(NULL));
	if (!root)
		return -ENOMEM;
	if (json_dump_file(root, path, JSON_INDENT(2) | JSON_SORT_KEYS)) {
		log_error("chaos: writing the report %s: %s", path, strerror(errno));
		err = -EIO;
	}
	json_decref(root);
	return err;
}

static void write_report(struct chaos_experiment *exp, FILE *out)
{
	char path[CHAOS_PATH_MAX + 96];

	if (!strcmp(exp->report_path, "-"))
		return;
	if (exp->report_path[0]) {
		snprintf(path, sizeof(path), "%s", exp->report_path);
	} else {
		mkdir("/var/lib/seismo", 0755);
		mkdir(CHAOS_DEFAULT_REPORT_DIR, 0755);
		snprintf(path, sizeof(path), "%s/%s-%lld.json", CHAOS_DEFAULT_REPORT_DIR,
			 chaos_experiment_name(exp), (long long)time(NULL));
	}
	if (!chaos_run_write_report(exp, path))
		fprintf(out, "report: %s\n", path);
}

static void install_signal_handlers(struct sigaction *old_int, struct sigaction *old_term)
{
	struct sigaction action = { .sa_handler = on_stop_signal };

	sigemptyset(&action.sa_mask);
	stop_signal = 0;
	sigaction(SIGINT, &action, old_int);
	sigaction(SIGTERM, &action, old_term);
}

static int print_dry_run(struct chaos_experiment *exp, FILE *out)
{
	chaos_kind_of(exp)->print_plan(exp, out);
	for (size_t i = 0; i < exp->probe_count; i++)
		fprintf(out,
			"  probe %s: GET %s, mode %s, every %.1f s, timeout %.1f s, retry %u%s\n",
			exp->probes[i].name, exp->probes[i].url,
			chaos_probe_mode_name(exp->probes[i].mode),
			exp->probes[i].interval_ns / 1e9, exp->probes[i].timeout_ns / 1e9,
			exp->probes[i].retries,
			exp->probes[i].stop_on_failure ? ", stop-on-failure" : "");
	return 0;
}

static void runner_init(struct runner *runner)
{
	pthread_condattr_t attr;

	/* timed waits on CLOCK_MONOTONIC, like every deadline here */
	pthread_mutex_init(&runner->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&runner->wake, &attr);
	pthread_condattr_destroy(&attr);
}

static void runner_destroy(struct runner *runner)
{
	pthread_cond_destroy(&runner->wake);
	pthread_mutex_destroy(&runner->lock);
}

/* From start to rollback, with the OnChaos probes alongside. Returns 0 or
 * a negative errno; *started tells whether chaos took effect at all. */
static int run_chaos_phase(struct runner *runner, struct probe_thread *threads, int *started)
{
	struct chaos_experiment *exp = runner->exp;
	uint64_t end_ns = 0;
	int err;

	*started = 0;
	err = chaos_kind_of(exp)->start(exp, &end_ns);
	if (err)
		return err;
	*started = 1;
	fprintf(runner->out, "%s: started, ends in %.1f s (in the kernel even if seismo dies)\n",
		chaos_experiment_name(exp), (double)(end_ns - chaos_now_ns()) / 1e9);
	err = start_probe_threads(runner, threads, CHAOS_PROBE_ONCHAOS, 1);
	if (!err)
		chaos_loop(runner, end_ns);
	stop_probe_threads(runner, threads, 1);
	/* rollback comes first, before any slower after-chaos probing */
	if (chaos_kind_of(exp)->rollback && chaos_kind_of(exp)->rollback(exp) && !err)
		err = -EIO;
	fprintf(runner->out, "%s: chaos over%s%s\n", chaos_experiment_name(exp),
		exp->abort_reason[0] ? ": " : "", exp->abort_reason);
	return err;
}

int chaos_run(struct chaos_experiment *exp, const struct chaos_limits *limits)
{
	struct probe_thread threads[CHAOS_MAX_PROBES] = {};
	struct runner runner = { .exp = exp, .out = stdout, .tty = isatty(STDOUT_FILENO) };
	struct sigaction old_int, old_term;
	int err, started = 0;

	exp->abort_reason[0] = '\0';
	if (chaos_kind_of(exp)->validate(exp, limits))
		return 2;
	if (chaos_kind_of(exp)->dry_run(exp))
		return print_dry_run(exp, stdout);
	if (chaos_probe_global_init())
		return 2;
	runner_init(&runner);
	install_signal_handlers(&old_int, &old_term);

	/* Continuous probes start before chaos and end after it */
	err = start_probe_threads(&runner, threads, CHAOS_PROBE_CONTINUOUS, 0);
	if (!err)
		run_edge_probes(&runner, CHAOS_PROBE_SOT);
	if (!err && !runner.abort && !stop_signal)
		err = run_chaos_phase(&runner, threads, &started);
	if (started && !stop_signal && !runner.abort)
		run_edge_probes(&runner, CHAOS_PROBE_EOT);
	stop_probe_threads(&runner, threads, 0);

	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	runner_destroy(&runner);
	chaos_probe_global_cleanup();
	if (err && !started) {
		snprintf(exp->verdict, sizeof(exp->verdict), "Error");
		log_error("chaos: %s could not start: %s", chaos_experiment_name(exp),
			  strerror(-err));
		return 2;
	}
	decide_verdict(exp, stop_signal != 0 || runner.stopped_outside);
	if (runner.abort)
		snprintf(exp->verdict, sizeof(exp->verdict), "Fail");
	fprintf(stdout, "verdict: %s (probe success %.0f %%)%s%s\n", exp->verdict,
		exp->probe_success_percent, exp->abort_reason[0] ? " - " : "", exp->abort_reason);
	write_report(exp, stdout);
	if (err)
		return 2;
	return strcmp(exp->verdict, "Pass") ? 1 : 0;
}
