/* The one arrow that goes back upstream (DESIGN.md): each service's
 * sampling threshold, from its baseline (judge), written into the kernel
 * (collect) for every server series the registry holds, so that only
 * slower requests leave the kernel as samples. */
#ifndef SEISMO_THRESHOLD_FEEDBACK_H
#define SEISMO_THRESHOLD_FEEDBACK_H

#include <stdbool.h>

#include "collector.h"
#include "config.h"
#include "detector.h"
#include "registry.h"

struct threshold_feedback {
	const struct config *cfg; /* sampling: rate, burst, min_latency */
	struct collector *collector;
	bool warned; /* the kernel refused once: said so, not again */
};

/* Once per interval, after judging. */
void threshold_feedback_update(struct threshold_feedback *f, const struct detector *det,
			       struct registry *registry);

#endif
