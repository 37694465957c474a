/* Copying the agent's config into the detector's and the shipper's settings. */
#include <math.h>

#include "stage_config.h"

void stage_config_detector(const struct config *cfg, struct detector_config *d)
{
	detector_config_default(d);
	d->node = cfg->node;
	d->cluster = cfg->cluster[0] ? cfg->cluster : NULL;
	d->sampling_factor = cfg->sampling.factor;
	if (cfg->detector.method[0])
		d->baseline.method =
			(enum baseline_method)baseline_method_parse(cfg->detector.method);
	if (!isnan(cfg->detector.for_s))
		d->for_s = cfg->detector.for_s;
	if (!isnan(cfg->detector.resolve_for_s))
		d->resolve_for_s = cfg->detector.resolve_for_s;
	if (!isnan(cfg->detector.warning_score))
		d->warning_score = cfg->detector.warning_score;
	if (!isnan(cfg->detector.critical_score))
		d->critical_score = cfg->detector.critical_score;
	if (!isnan(cfg->detector.min_requests))
		d->min_requests = cfg->detector.min_requests;
	if (!isnan(cfg->detector.warmup_s))
		d->baseline.warmup_s = cfg->detector.warmup_s;
	if (cfg->detector.warmup_samples)
		d->baseline.warmup_samples = (uint32_t)cfg->detector.warmup_samples;
}

static const char *or_null(const char *s)
{
	return s[0] ? s : NULL;
}

bool stage_config_shipper(const struct config *cfg, struct shipper_config *out)
{
	if (!cfg->correlator.url[0])
		return false;
	*out = (struct shipper_config){
		.url = cfg->correlator.url,
		.token = or_null(cfg->correlator.token),
		.token_file = or_null(cfg->correlator.token_file),
		.ca_file = or_null(cfg->correlator.ca_file),
		.cert_file = or_null(cfg->correlator.cert_file),
		.key_file = or_null(cfg->correlator.key_file),
		.insecure = cfg->correlator.insecure_skip_verify,
		.spool_dir = cfg->correlator.spool_dir,
		.spool_max_bytes = cfg->correlator.spool_max_bytes,
		.node = cfg->node,
		.cluster = or_null(cfg->cluster),
		.batch_max_events = cfg->correlator.batch_max_events,
	};
	return true;
}
