/* The agent's part in chaos safety: a delay experiment whose seismo was
 * SIGKILLed already passes every packet (its end time lives in the kernel);
 * its qdisc, filter and pins are removed here, once a minute, once it is
 * past its end (chaos_delay_stop_orphans). */
#ifndef SEISMO_CHAOS_SWEEP_H
#define SEISMO_CHAOS_SWEEP_H

#define CHAOS_SWEEP_EVERY_S 60.0

struct chaos_sweep {
	double swept_at; /* monotonic seconds; 0 = never */
};

/* Sweeps when CHAOS_SWEEP_EVERY_S passed since the last sweep. now: monotonic seconds. */
void chaos_sweep_tick(struct chaos_sweep *s, double now);

#endif
