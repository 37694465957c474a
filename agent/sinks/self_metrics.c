/* seismo_* metrics about the agent itself, in Prometheus text. */
#include "promtext.h"
#include "self_metrics.h"

#define MAP_USAGE_EVERY_S 60.0

static void refresh_map_usage(struct self_metrics *m, size_t series, double now)
{
	if (m->maps_at && now - m->maps_at < MAP_USAGE_EVERY_S && series == m->maps_series)
		return;
	m->n_maps = collector_map_usage(m->collector, m->maps, SELF_METRICS_MAPS);
	m->maps_at = now;
	m->maps_series = series;
}

static void write_kernel_counters(struct collector *c, FILE *out)
{
	uint64_t cnt[SEISMO_CNT_MAX];

	if (collector_counters(c, cnt))
		return;
	prom_family(out, "seismo_turns_total", "counter",
		    "Request/response turns the kernel recorded.");
	prom_u64(out, "seismo_turns_total", NULL, cnt[SEISMO_CNT_EXCHANGES]);
	prom_family(out, "seismo_turns_dropped_total", "counter", "Turns not recorded, by reason.");
	prom_u64(out, "seismo_turns_dropped_total", "reason=\"histogram_map_full\"",
		 cnt[SEISMO_CNT_HIST_FULL]);
	prom_family(out, "seismo_turns_unparsed_total", "counter",
		    "Turns timed without a user buffer to parse (sendfile, io_uring): no method or "
		    "status.");
	prom_u64(out, "seismo_turns_unparsed_total", NULL, cnt[SEISMO_CNT_NO_BUFFER]);
	prom_family(out, "seismo_connections_seen_total", "counter", "TCP connections first seen.");
	prom_u64(out, "seismo_connections_seen_total", NULL, cnt[SEISMO_CNT_CONN_NEW]);
	prom_family(out, "seismo_connections_adopted_total", "counter",
		    "Connections older than the agent, their role taken from the listening ports.");
	prom_u64(out, "seismo_connections_adopted_total", NULL, cnt[SEISMO_CNT_CONN_ADOPTED]);
	prom_family(out, "seismo_samples_total", "counter",
		    "Kernel samples of slow or failed requests, by outcome.");
	prom_u64(out, "seismo_samples_total", "outcome=\"emitted\"", cnt[SEISMO_CNT_SAMPLES]);
	prom_u64(out, "seismo_samples_total", "outcome=\"suppressed\"",
		 cnt[SEISMO_CNT_SAMPLES_SUPPRESSED]);
	prom_u64(out, "seismo_samples_total", "outcome=\"lost\"", cnt[SEISMO_CNT_SAMPLES_LOST]);
}

static void write_maps(const struct self_metrics *m, FILE *out)
{
	char labels[96];

	prom_family(out, "seismo_bpf_map_entries", "gauge", "Entries in use per BPF map.");
	for (int i = 0; i < m->n_maps; i++) {
		snprintf(labels, sizeof(labels), "map=\"%s\"", m->maps[i].name);
		prom_u64(out, "seismo_bpf_map_entries", labels, m->maps[i].entries);
	}
	prom_family(out, "seismo_bpf_map_capacity", "gauge", "Maximum entries per BPF map.");
	for (int i = 0; i < m->n_maps; i++) {
		snprintf(labels, sizeof(labels), "map=\"%s\"", m->maps[i].name);
		prom_u64(out, "seismo_bpf_map_capacity", labels, m->maps[i].max_entries);
	}
	prom_family(out, "seismo_bpf_map_fill_ratio", "gauge", "Entries in use / capacity.");
	for (int i = 0; i < m->n_maps; i++) {
		const struct collector_map_usage *u = &m->maps[i];
		snprintf(labels, sizeof(labels), "map=\"%s\"", u->name);
		prom_double(out, "seismo_bpf_map_fill_ratio", labels,
			    u->max_entries ? (double)u->entries / u->max_entries : 0, 4);
	}
	prom_family(out, "seismo_bpf_map_memory_bytes", "gauge",
		    "Estimated kernel memory of each map.");
	for (int i = 0; i < m->n_maps; i++) {
		snprintf(labels, sizeof(labels), "map=\"%s\"", m->maps[i].name);
		prom_u64(out, "seismo_bpf_map_memory_bytes", labels, m->maps[i].bytes);
	}
}

static void write_programs(struct collector *c, FILE *out)
{
	struct collector_prog_stats progs[32];
	int n = collector_prog_stats(c, progs, 32);
	char labels[96];

	prom_family(out, "seismo_bpf_prog_runs_total", "counter",
		    "Runs per BPF program (needs kernel.bpf_stats_enabled=1, config bpf_stats).");
	for (int i = 0; i < n; i++) {
		snprintf(labels, sizeof(labels), "program=\"%s\"", progs[i].name);
		prom_u64(out, "seismo_bpf_prog_runs_total", labels, progs[i].run_cnt);
	}
	prom_family(out, "seismo_bpf_prog_run_seconds_total", "counter",
		    "Time spent in each BPF program.");
	for (int i = 0; i < n; i++) {
		snprintf(labels, sizeof(labels), "program=\"%s\"", progs[i].name);
		prom_double(out, "seismo_bpf_prog_run_seconds_total", labels,
			    (double)progs[i].run_time_ns / 1e9, 9);
	}
}

void self_metrics_write(struct self_metrics *m, const struct self_metrics_counts *counts,
			double now, FILE *out)
{
	char labels[160];

	refresh_map_usage(m, counts->series, now);
	prom_family(out, "seismo_build_info", "gauge",
		    "The agent's version and the socket hook in use.");
	snprintf(labels, sizeof(labels), "version=\"%s\",hook=\"%s\"", SEISMO_VERSION,
		 collector_hook(m->collector));
	prom_u64(out, "seismo_build_info", labels, 1);
	write_kernel_counters(m->collector, out);
	write_maps(m, out);
	write_programs(m->collector, out);
	prom_family(out, "seismo_series", "gauge", "Histogram series the agent holds.");
	prom_u64(out, "seismo_series", NULL, counts->series);
	prom_family(out, "seismo_events_total", "counter",
		    "Anomaly events (firing and resolved) the agent emitted.");
	prom_u64(out, "seismo_events_total", NULL, counts->events);
	prom_family(out, "seismo_intervals_total", "counter", "Intervals the agent completed.");
	prom_u64(out, "seismo_intervals_total", NULL, counts->intervals);
}
