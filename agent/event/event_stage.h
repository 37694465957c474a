/*
 * The event stage: where a judgement becomes an event. The detector hands
 * over a struct detector_event (plain C data); here it becomes
 * seismo.event/v1 JSON (events.c), gets the kernel samples of the anomaly
 * attached as exemplars (sampler.c), is logged, and goes on to every sink:
 * the recent-events list and, with a correlator, the shipper. One
 * direction: nothing here calls back into the judge.
 *
 *	struct event_stage stage = { .sampler = s, .recent = r, .shipper = sh };
 *	detector_new(&config, event_stage_emit, &stage);
 */
#ifndef SEISMO_EVENT_STAGE_H
#define SEISMO_EVENT_STAGE_H

#include <stdint.h>

#include "detector.h"

struct sampler;
struct recent_events;
struct shipper;

#define EVENT_EXEMPLARS 5 /* kernel samples attached to one event, at most */

struct event_stage {
	struct sampler *sampler;      /* exemplars; NULL: none attached */
	struct recent_events *recent; /* /api/v1/events; may be NULL */
	struct shipper *shipper;      /* NULL: no correlator, events are logged and kept */
	double exemplar_slack_s;      /* samples this long before the anomaly began still count */
	uint64_t emitted;	      /* events handed to the sinks (seismo_events_total) */
};

/* A detector_event_fn: user is the struct event_stage. */
void event_stage_emit(const struct detector_event *event, void *user);

#endif
