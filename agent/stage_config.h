/* What each stage gets from the agent's configuration (config.h): the
 * detector's settings with the config's overrides, and the shipper's
 * connection to the correlator. Pure copies: no I/O, nothing allocated;
 * the strings stay the config's. */
#ifndef SEISMO_STAGE_CONFIG_H
#define SEISMO_STAGE_CONFIG_H

#include <stdbool.h>

#include "config.h"
#include "detector.h"
#include "shipper.h"

/* The detector's defaults with what the config overrides (NAN / 0 / "" = not set). */
void stage_config_detector(const struct config *cfg, struct detector_config *out);
/* The shipper's settings; false when no correlator is configured. */
bool stage_config_shipper(const struct config *cfg, struct shipper_config *out);

#endif
