/* The event stage: detector_event -> JSON + exemplars -> sinks. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "event_stage.h"
#include "events.h"
#include "log.h"
#include "recent_events.h"
#include "sampler.h"
#include "shipper.h"

void event_stage_emit(const struct detector_event *info, void *user)
{
	struct event_stage *stage = user;
	json_t *event = events_build(info);
	int n = 0;

	if (!event) {
		log_error("building the %s event of %s/%s: %s",
			  detector_transition_name(info->transition), info->service,
			  detector_metric_name(info->metric), strerror(ENOMEM));
		return;
	}
	/* Exemplars from the kernel samples taken since the anomaly began
	 * (with slack: samples arrive before the judgement). */
	if (stage->sampler)
		n = sampler_attach(stage->sampler, info->service,
				   info->starts_at - stage->exemplar_slack_s, EVENT_EXEMPLARS,
				   event);
	char *text = json_dumps(event, JSON_COMPACT);

	log_info("%s anomaly: service %s %s=%g (expected %g, score %.1f, %s), %d exemplar(s)",
		 detector_transition_name(info->transition), info->service,
		 detector_metric_name(info->metric), info->value, info->estimate.expected,
		 info->score, info->severity == DETECTOR_CRITICAL ? "critical" : "warning", n);
	log_debug("event %s", text ? text : "?");
	free(text);
	if (stage->recent && recent_events_add(stage->recent, event))
		log_warn("could not keep an event for /api/v1/events");
	stage->emitted++;
	if (stage->shipper && shipper_submit(stage->shipper, event))
		log_warn("could not queue an event for the correlator");
	json_decref(event);
}
