/*
 * scope.h - does a flow apply to a SIM and a moment: its scope clause and
 * its activation window, read from the artifact.  One definition for
 * `flowc run`, `flowc test` and flowvm's evaluation.
 */
#ifndef FLOW_RUNTIME_SCOPE_H
#define FLOW_RUNTIME_SCOPE_H

#include <stdbool.h>
#include <stdint.h>

#include "../stdlib/value.h"
#include "../vm/artifact.h"

/* Is the SIM (SIM_NFIELDS values) in the flow's scope?  A flow on an event
 * without a SIM (sim NULL) is in scope when its scope is `all`. */
bool scope_contains(const Artifact *flow, const Value *sim);

/* Is the flow active at `time`?  `deployed` is when it was deployed, the
 * start of a window without `from` (and of `active for D`). */
bool scope_active(const Artifact *flow, int64_t time, int64_t deployed);

#endif
