/* Histogram maths of the kernel's log-linear latency histograms. */
#ifndef SEISMO_HISTOGRAM_H
#define SEISMO_HISTOGRAM_H

#include <stdint.h>

/* Quantile q (0..1) of a fine histogram (SEISMO_HIST_BUCKETS counts), in
 * seconds; NAN when empty. Values are bucket midpoints (error <= 1.6%). */
double histogram_quantile(const uint32_t *buckets, double q);

#endif
