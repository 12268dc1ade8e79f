/*
 * record.h - a VmHost that records what a run would do instead of doing it.
 *
 * `flowc run` and `flowc test` hand it to the VM.  Every action is validated
 * as the runtime validates it (addresses, https URLs, one-line subjects) and
 * kept as a JSON object with every resolved field; log lines likewise.
 */
#ifndef FLOW_RUNTIME_RECORD_H
#define FLOW_RUNTIME_RECORD_H

#include <cjson/cJSON.h>

#include "../vm/vm.h"

typedef struct RecHost {
    cJSON *actions;      /* array of {"action": "email", ...} */
    cJSON *log;          /* array of {"line": N, "text": "..."} */
    const char *iccid;   /* the SIM the run is about, for SIM operations; may be NULL */
    VmHost host;         /* pass &rec->host to the VM */
} RecHost;

void rec_init(RecHost *rec);
void rec_free(RecHost *rec);

/* Applies the SIM operations recorded from action index `from` on to the SIM
 * record (suspend, resume, tag, untag, topup, renew), as the operator
 * connector does when a run reaches a wait or its end.  New strings and
 * lists go to `arena`.  Returns the number of actions recorded so far. */
int rec_apply_sim_ops(RecHost *rec, int from, Value *sim, Arena *arena);

#endif
