/* Quantiles of the kernel's log-linear histograms (include/seismo/latency.h).
 * Pure arithmetic on bucket counts: no BPF, so the series stage and tests
 * use it without the loader. */
#include <linux/types.h>
#include <math.h>

#include "histogram.h"
#include "seismo/latency.h"

double histogram_quantile(const uint32_t *buckets, double q)
{
	uint64_t total = 0, rank, seen = 0;

	/* The buckets' own total: the request count can run ahead of them. */
	for (uint32_t b = 0; b < SEISMO_HIST_BUCKETS; b++)
		total += buckets[b];
	if (!total)
		return NAN;
	/* The smallest value with at least q of the counts at or below it. */
	rank = (uint64_t)ceil(q * (double)total);
	if (rank < 1)
		rank = 1;
	for (uint32_t b = 0; b < SEISMO_HIST_BUCKETS; b++) {
		seen += buckets[b];
		if (seen >= rank) {
			double lo = (double)seismo_hist_lower_ns(b);
			double hi = b + 1 < SEISMO_HIST_BUCKETS
					    ? (double)seismo_hist_lower_ns(b + 1)
					    : lo;
			return (lo + hi) / 2 / 1e9;
		}
	}
	return NAN; /* not reached: seen ends at total */
}
