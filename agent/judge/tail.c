/* Tail probabilities from the regularised incomplete gamma and beta functions. */
#include <float.h>
#include <math.h>

#include "tail.h"

#define TAIL_EPS 1e-14
#define TAIL_ITER 300
#define TINY 1e-300

double tail_normal_upper(double z)
{
	return 0.5 * erfc(z / M_SQRT2);
}

/* P(a, x) by its power series; converges fast for x < a + 1. */
static double gamma_series(double a, double x)
{
	double term = 1 / a, sum = term;

	for (int n = 1; n < TAIL_ITER; n++) {
		term *= x / (a + n);
		sum += term;
		if (fabs(term) < fabs(sum) * TAIL_EPS)
			break;
	}
	return sum * exp(-x + a * log(x) - lgamma(a));
}

/*
 * One step of the modified Lentz algorithm for a continued fraction with
 * partial numerator an and denominator bn: updates c and d, returns the
 * factor the running value is multiplied by.
 */
static double lentz_step(double an, double bn, double *c, double *d)
{
	*d = bn + an * *d;
	if (fabs(*d) < TINY)
		*d = TINY;
	*c = bn + an / *c;
	if (fabs(*c) < TINY)
		*c = TINY;
	*d = 1 / *d;
	return *d * *c;
}

/* Q(a, x) = 1 - P(a, x) by Lentz's continued fraction; for x >= a + 1. */
static double gamma_fraction(double a, double x)
{
	double b = x + 1 - a, c = 1 / TINY, d = 1 / b, h = d;

	for (int i = 1; i < TAIL_ITER; i++) {
		double an = -i * (i - a), delta;

		b += 2;
		delta = lentz_step(an, b, &c, &d);
		h *= delta;
		if (fabs(delta - 1) < TAIL_EPS)
			break;
	}
	return exp(-x + a * log(x) - lgamma(a)) * h;
}

double tail_gamma_lower(double a, double x)
{
	if (x <= 0)
		return 0;
	if (a <= 0)
		return 1;
	if (x < a + 1)
		return gamma_series(a, x);
	return 1 - gamma_fraction(a, x);
}

/* Q(a, x) without the cancellation of 1 - P when P is close to 1. */
double tail_gamma_upper(double a, double x)
{
	if (x <= 0)
		return 1;
	if (a <= 0)
		return 0;
	if (x < a + 1)
		return 1 - gamma_series(a, x);
	return gamma_fraction(a, x);
}

/* The continued fraction of I_x(a, b) (modified Lentz), valid for x < (a + 1) / (a + b + 2). */
static double beta_fraction(double a, double b, double x)
{
	double qab = a + b, qap = a + 1, qam = a - 1;
	double c = 1, d = 1 - qab * x / qap, h;

	if (fabs(d) < TINY)
		d = TINY;
	d = 1 / d;
	h = d;
	for (int m = 1; m < TAIL_ITER; m++) {
		int m2 = 2 * m;
		double aa = m * (b - m) * x / ((qam + m2) * (a + m2)), delta;

		h *= lentz_step(aa, 1, &c, &d);
		aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
		delta = lentz_step(aa, 1, &c, &d);
		h *= delta;
		if (fabs(delta - 1) < TAIL_EPS)
			break;
	}
	return h;
}

double tail_beta_inc(double a, double b, double x)
{
	double front;

	if (x <= 0)
		return 0;
	if (x >= 1)
		return 1;
	front = exp(lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x));
	if (x < (a + 1) / (a + b + 2))
		return front * beta_fraction(a, b, x) / a;
	return 1 - front * beta_fraction(b, a, 1 - x) / b;
}

double tail_poisson_upper(double k, double mean)
{
	if (k <= 0)
		return 1;
	if (mean <= 0)
		return 0;
	/* P(X >= k) = P(k, mean), the lower regularised gamma. */
	return tail_gamma_lower(k, mean);
}

double tail_poisson_lower(double k, double mean)
{
	if (k < 0)
		return 0;
	if (mean <= 0)
		return 1;
	/* P(X <= k) = Q(k + 1, mean). */
	return tail_gamma_upper(k + 1, mean);
}

/* Size r and success probability of a negative binomial with this mean and variance. */
static void negbin_shape(double mean, double variance, double *r, double *p)
{
	*r = mean * mean / (variance - mean);
	*p = *r / (*r + mean);
}

double tail_negbin_upper(double k, double mean, double variance)
{
	double r, p;

	if (variance <= mean * (1 + 1e-6))
		return tail_poisson_upper(k, mean);
	if (k <= 0)
		return 1;
	if (mean <= 0)
		return 0;
	negbin_shape(mean, variance, &r, &p);
	/* P(X >= k) = I_{1-p}(k, r). */
	return tail_beta_inc(k, r, 1 - p);
}

double tail_negbin_lower(double k, double mean, double variance)
{
	double r, p;

	if (variance <= mean * (1 + 1e-6))
		return tail_poisson_lower(k, mean);
	if (k < 0)
		return 0;
	if (mean <= 0)
		return 1;
	negbin_shape(mean, variance, &r, &p);
	/* P(X <= k) = I_p(r, k + 1). */
	return tail_beta_inc(r, k + 1, p);
}

double tail_binomial_upper(double k, double trials, double p)
{
	if (k <= 0)
		return 1;
	if (k > trials || p <= 0)
		return 0;
	if (p >= 1)
		return 1;
	/* P(X >= k) = I_p(k, n - k + 1). */
	return tail_beta_inc(k, trials - k + 1, p);
}
