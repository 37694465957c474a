/*
 * Tail probabilities of the count and ratio models the detector uses:
 * "how likely is a value at least this far out, if the series behaves as
 * usual". Each returns a probability in [0, 1], monotone in its first
 * argument, computed in double precision from the regularised incomplete
 * gamma and beta functions (continued fractions, no tables).
 */
#ifndef SEISMO_TAIL_H
#define SEISMO_TAIL_H

/* P(Z >= z) for a standard normal Z. */
double tail_normal_upper(double z);
/* P(X >= k) and P(X <= k) for X ~ Poisson(mean). k may be fractional (continuous extension). */
double tail_poisson_upper(double k, double mean);
double tail_poisson_lower(double k, double mean);
/*
 * Negative binomial with the given mean and variance (overdispersed counts:
 * bursty series). A variance at or below the mean falls back to Poisson.
 */
double tail_negbin_upper(double k, double mean, double variance);
double tail_negbin_lower(double k, double mean, double variance);
/* P(X >= k) for X ~ Binomial(trials, p): k errors or more out of trials requests. */
double tail_binomial_upper(double k, double trials, double p);
/*
 * Q(a, x) = 1 - P(a, x), the upper regularised incomplete gamma: P(X >= x)
 * for X ~ Gamma(shape a, scale 1), accurate far into the tail (no 1 - P).
 * The variance model's tail (a mean of squared residuals is a scaled
 * chi-square, approximated by a gamma with the same mean and variance).
 */
double tail_gamma_upper(double a, double x);
/* Regularised incomplete beta I_x(a, b) and lower gamma P(a, x), exposed for tests. */
double tail_beta_inc(double a, double b, double x);
double tail_gamma_lower(double a, double x);

#endif
